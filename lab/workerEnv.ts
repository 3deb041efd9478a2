/**
 * The worker environment that points mailferry's cloud side at the lab, for
 * the demo, the tests and the benchmarks (a real deployment sets these
 * variables itself; see .env.example). `tsx lab/workerEnv.ts` prints it as
 * `export` lines for shell scripts; `--demo-env` writes it, with the Temporal
 * address and the organisation, to `.state/demo.env`, which the CLI and the
 * worker read when the working directory has no `.env`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDevCodecKey } from '../shared/codecKey';
import { demoEnvFile, formatEnvFile, stateDir } from '../shared/envFile';
import { readLabInfo, type LabInfo } from './info';

export const LAB_ROUTING_DOMAIN = 'tailspintoys.mail.cloud.test';
export const STATE_DIR = stateDir();

export function labWorkerEnv(info: LabInfo = readLabInfo()): Record<string, string> {
  const c = info.cloud;
  return {
    MAILFERRY_CODEC_KEY_FILE: ensureDevCodecKey(STATE_DIR),
    MAILFERRY_REPORTS_DIR: join(STATE_DIR, 'reports'),
    MAILFERRY_REPORT_FROM: 'mailferry@cloud.test',
    MAILFERRY_CLOUD_LDAP_URL: c.ldap.url,
    MAILFERRY_CLOUD_LDAP_BASE_DN: c.ldap.suffix,
    MAILFERRY_CLOUD_LDAP_BIND_DN: c.ldap.bindDn,
    MAILFERRY_CLOUD_LDAP_PASSWORD: c.ldap.password,
    MAILFERRY_CLOUD_ROUTING_DOMAIN: LAB_ROUTING_DOMAIN,
    MAILFERRY_CLOUD_IMAP_HOST: c.imap.host,
    MAILFERRY_CLOUD_IMAP_PORT: String(c.imap.port),
    MAILFERRY_CLOUD_IMAP_SECURE: String(c.imap.secure),
    MAILFERRY_CLOUD_IMAP_MASTER_USER: c.imap.admin.user,
    MAILFERRY_CLOUD_IMAP_PASSWORD: c.imap.admin.password,
    MAILFERRY_CLOUD_DAV_URL: c.dav.url,
    MAILFERRY_CLOUD_DAV_USER: c.dav.admin.user,
    MAILFERRY_CLOUD_DAV_PASSWORD: c.dav.admin.password,
    MAILFERRY_SMTP_HOST: info.smtp.host,
    MAILFERRY_SMTP_PORT: String(info.smtp.port),
  };
}

/** The demo's settings: the lab's worker environment, the Temporal server and the organisation of this run. */
export function writeDemoEnv(org: string, temporalAddress: string): string {
  const file = demoEnvFile();
  const values = { TEMPORAL_ADDRESS: temporalAddress, MAILFERRY_ORG: org, ...labWorkerEnv() };
  writeFileSync(file, formatEnvFile(values, ['written by `npm run demo` (lab-only test secrets); `npm run demo:down` stops its servers']), {
    mode: 0o600,
  });
  return file;
}

if (require.main === module) {
  if (process.argv[2] === '--demo-env') {
    const { MAILFERRY_ORG: org, TEMPORAL_ADDRESS: address } = process.env;
    if (!org || !address) throw new Error('--demo-env needs MAILFERRY_ORG and TEMPORAL_ADDRESS in the environment');
    console.log(writeDemoEnv(org, address));
  } else {
    const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
    for (const [k, v] of Object.entries(labWorkerEnv())) console.log(`export ${k}=${quote(v)}`);
  }
}
