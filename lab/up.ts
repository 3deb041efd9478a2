/**
 * `lab:up`: install what is missing, then start every server that does not
 * answer, leaving running ones alone, so a second `up` is a no-op and a
 * half-running lab is repaired.
 */
import { mkdirSync } from 'node:fs';
import { paths } from './config';
import { describeLab, writeLabInfo } from './describe';
import { probe, waitUntilAnswers } from './health';
import type { LabInfo } from './info';
import { ensureRegistration } from './oauth/register';
import { ensureBaseEntries } from './org';
import { ensurePackages } from './packages';
import { isLabProcess, stopProcess } from './proc';
import { loadOrCreateSecrets } from './secrets';
import { ensureDc } from './servers/samba';
import { SERVICES } from './services';

export async function labUp(log: (line: string) => void): Promise<LabInfo> {
  ensurePackages(log);
  mkdirSync(paths.root, { recursive: true });
  const secrets = loadOrCreateSecrets();

  const started: string[] = [];
  // the on-prem directory first: Dovecot on-prem authenticates against it; it
  // is shared with every other lab on this machine (see lab/servers/samba.ts)
  if ((await ensureDc(log)).started) started.push('samba');
  // the tenant's app registration: its certificate is signed by the DC's lab CA, and the lab info names it
  await ensureRegistration();
  const info = describeLab(secrets);
  for (const service of SERVICES) {
    const pid = service.pid();
    if (isLabProcess(pid)) {
      if ((await probe(service.name, info)) === null) continue;
      // running but not answering (hung, or half-started): start it again
      await stopProcess(pid);
    }
    await service.configure(secrets);
    service.start();
    await waitUntilAnswers(service.name, info);
    if (!isLabProcess(service.pid())) {
      throw new Error(`${service.name} exited right after starting; another server may hold its port (see .lab/logs)`);
    }
    started.push(service.name);
  }
  await ensureBaseEntries(info);
  writeLabInfo(info);

  if (started.length === 0) log('lab already running: every server answers');
  else log(`started: ${started.join(', ')}`);
  log(summary(info));
  return info;
}

export function summary(info: LabInfo): string {
  return [
    `  AD DC       ${info.onprem.ldap.url} (${info.onprem.ldap.suffix}, bind ${info.onprem.ldap.bindDn}, CA ${info.onprem.ldap.caFile})`,
    `  LDAP        ${info.cloud.ldap.url} (${info.cloud.ldap.suffix})`,
    `  IMAP        on-prem ${info.onprem.imap.host}:${info.onprem.imap.port}   cloud ${info.cloud.imap.host}:${info.cloud.imap.port}`,
    `  DAV         on-prem ${info.onprem.dav.url}   cloud ${info.cloud.dav.url}`,
    `  SMTP sink   ${info.smtp.host}:${info.smtp.port} → ${info.smtp.messagesDir}`,
    `  M365 tokens ${info.m365.tokenEndpoint} (app ${info.m365.app.clientId}, tokens for ${info.m365.app.tokenLifetimeSeconds} s)`,
    `  Graph       ${info.graph?.url ?? '(not described)'}/v1.0 (stand-in checked against the v1.0 CSDL)`,
    `  admins      ${info.onprem.imap.admin.user} / ${info.cloud.imap.admin.user} (passwords: npm run -s lab:info)`,
    `  seed        ${info.seed ? `${info.seed.profile} #${info.seed.seed}, ${info.seed.users.length} users` : 'none (npm run lab:seed)'}`,
  ].join('\n');
}
