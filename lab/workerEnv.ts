/**
 * The worker environment that points mailferry's cloud side at the lab, for
 * the demo, the tests and the benchmarks (a real deployment sets these
 * variables itself; see .env.example). Printed as `export` lines by
 * `tsx lab/workerEnv.ts` for shell scripts.
 */
import { join, resolve } from 'node:path';
import { ensureDevCodecKey } from '../shared/codecKey';
import { readLabInfo, type LabInfo } from './info';

export const LAB_ROUTING_DOMAIN = 'tailspintoys.mail.cloud.test';
/** MAILFERRY_STATE_DIR separates a second instance (the fault suite's) from the shared one */
export const STATE_DIR = resolve(process.env.MAILFERRY_STATE_DIR || join(__dirname, '..', '.state'));

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

if (require.main === module) {
  const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  for (const [k, v] of Object.entries(labWorkerEnv())) console.log(`export ${k}=${quote(v)}`);
}
