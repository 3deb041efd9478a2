/** Builds and saves `.lab/info.json` (the shape of lab/info.ts) from the config and secrets. */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { ADMIN, DOMAINS, LAB_HOST, PORTS, SUFFIX, Side, paths } from './config';
import { LAB_INFO_FILE, LabInfo, labInfoSchema, readLabInfo } from './info';
import { ACCEPTED_DOMAINS, FEDERATED_DOMAINS } from './org';
import { oauthPaths, readRegistration } from './oauth/register';
import { tokenEndpoints } from './oauth/server';
import type { LabSecrets } from './secrets';
import { ADMIN_BIND, ADMIN_UPN, LAB_OU } from './ad/directory';
import { dcPaths, ldapsUrl } from './servers/samba';
import { ldapUrl, rootDn } from './servers/slapd';

function side(s: Side, secrets: LabSecrets): LabInfo['onprem'] {
  const admin = { user: ADMIN[s], password: secrets.imapAdmin[s] };
  return {
    imap: { host: LAB_HOST, port: PORTS.imap[s], secure: false, admin },
    ldap:
      s === 'onprem'
        ? // the migration administrator: one AD account for the directory and (as a master user) IMAP
          { url: ldapsUrl(), suffix: LAB_OU, bindDn: ADMIN_BIND, bindUpn: ADMIN_UPN, password: secrets.imapAdmin.onprem, caFile: dcPaths().ca }
        : { url: ldapUrl(), suffix: SUFFIX.cloud, bindDn: rootDn('cloud'), password: secrets.ldapRoot.cloud },
    dav: { url: `http://${LAB_HOST}:${PORTS.dav[s]}/`, admin },
    mailDir: paths.mail(s),
  };
}

/** The description of this lab; a seed recorded earlier survives restarts (the data is still on disk). */
export function describeLab(secrets: LabSecrets): LabInfo {
  const previous = existsSync(LAB_INFO_FILE) ? safeRead() : null;
  return {
    dir: paths.root,
    onprem: side('onprem', secrets),
    cloud: side('cloud', secrets),
    smtp: { host: LAB_HOST, port: PORTS.smtp, messagesDir: paths.smtp.messages },
    m365: m365(),
    graph: { url: `http://${LAB_HOST}:${PORTS.graph}` },
    domains: { accepted: ACCEPTED_DOMAINS, federated: FEDERATED_DOMAINS, notAccepted: [DOMAINS.notAccepted] },
    seed: previous?.seed ?? null,
  };
}

function m365(): LabInfo['m365'] {
  const config = readRegistration();
  const urls = tokenEndpoints(config);
  const app = config.apps[0]!;
  return {
    tenantId: config.tenantId,
    authorityHost: urls.origin,
    tokenEndpoint: urls.token,
    jwksUri: urls.jwks,
    accessTokenIssuer: urls.accessTokenIssuer,
    caFile: dcPaths().ca,
    app: { clientId: app.clientId, certificateFile: app.certificateFile, privateKeyFile: oauthPaths().appKey, tokenLifetimeSeconds: app.tokenLifetimeSeconds },
    tokenServerConfig: oauthPaths().config,
  };
}

function safeRead(): LabInfo | null {
  try {
    return readLabInfo();
  } catch {
    return null;
  }
}

export function writeLabInfo(info: LabInfo): void {
  const checked = labInfoSchema.parse(info);
  const tmp = `${LAB_INFO_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(checked, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, LAB_INFO_FILE);
}
