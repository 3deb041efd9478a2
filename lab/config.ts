/**
 * Where every lab server listens and keeps its state. One function of the
 * environment so `up`, `down`, `users.ts` and the tests agree without reading
 * each other's files.
 */
import { join } from 'node:path';
import { LAB_DIR } from './info';

export const LAB_HOST = '127.0.0.1';

export type Side = 'onprem' | 'cloud';
export const SIDES: readonly Side[] = ['onprem', 'cloud'];

function portBase(): number {
  const raw = process.env.MAILFERRY_LAB_PORT_BASE;
  if (raw === undefined || raw === '') return 17000;
  const base = Number(raw);
  if (!Number.isInteger(base) || base < 1024 || base > 65000) {
    throw new Error(`MAILFERRY_LAB_PORT_BASE must be an integer between 1024 and 65000 (got "${raw}")`);
  }
  return base;
}

const base = portBase();
export const PORTS = {
  smtp: base + 25,
  imap: { onprem: base + 143, cloud: base + 243 },
  ldap: base + 389,
  dav: { onprem: base + 232, cloud: base + 332 },
  /** the lab's Microsoft identity platform (token endpoint, https) */
  oauth: base + 443,
  /** the Microsoft Graph stand-in (lab/graph) */
  graph: base + 444,
} as const;

/** the cloud directory's OpenLDAP suffix; the on-premises directory is the Samba AD DC (lab/servers/samba.ts) */
export const SUFFIX = { cloud: 'dc=cloud,dc=test' } as const;
export const ADMIN: Record<Side, string> = { onprem: 'admin@tailspintoys.com', cloud: 'admin@cloud.test' };

export const DOMAINS = {
  primary: 'tailspintoys.com',
  federated: 'fed.tailspintoys.com',
  routing: 'tailspintoys.mail.cloud.test',
  notAccepted: 'legacy-contoso.test',
} as const;

/**
 * Dovecot refuses to deliver as root, so mail belongs to a numeric uid with no
 * system user behind it; without root we can only use our own uid.
 */
export const MAIL_UID = process.getuid?.() === 0 ? 5000 : (process.getuid?.() ?? 5000);
export const MAIL_GID = process.getuid?.() === 0 ? 5000 : (process.getgid?.() ?? 5000);

export const paths = {
  root: LAB_DIR,
  secrets: join(LAB_DIR, 'secrets.json'),
  pids: join(LAB_DIR, 'pids'),
  logs: join(LAB_DIR, 'logs'),
  locks: join(LAB_DIR, 'locks'),
  ldap: {
    dir: join(LAB_DIR, 'ldap'),
    conf: join(LAB_DIR, 'ldap', 'slapd.conf'),
    pid: join(LAB_DIR, 'ldap', 'slapd.pid'),
    args: join(LAB_DIR, 'ldap', 'slapd.args'),
    db: join(LAB_DIR, 'ldap', 'cloud-db'),
  },
  dovecot: (side: Side) => ({
    dir: join(LAB_DIR, side, 'dovecot'),
    conf: join(LAB_DIR, side, 'dovecot', 'dovecot.conf'),
    run: join(LAB_DIR, side, 'dovecot', 'run'),
    state: join(LAB_DIR, side, 'dovecot', 'state'),
    users: join(LAB_DIR, side, 'dovecot', 'users.passwd'),
    masters: join(LAB_DIR, side, 'dovecot', 'masters.passwd'),
    ldapConf: join(LAB_DIR, side, 'dovecot', 'ldap.conf.ext'),
    log: join(LAB_DIR, 'logs', `dovecot-${side}.log`),
  }),
  mail: (side: Side) => join(LAB_DIR, side, 'mail'),
  radicale: (side: Side) => ({
    dir: join(LAB_DIR, side, 'radicale'),
    conf: join(LAB_DIR, side, 'radicale', 'config'),
    htpasswd: join(LAB_DIR, side, 'radicale', 'htpasswd'),
    rights: join(LAB_DIR, side, 'radicale', 'rights'),
    collections: join(LAB_DIR, side, 'radicale', 'collections'),
    log: join(LAB_DIR, 'logs', `radicale-${side}.log`),
  }),
  graph: { dir: join(LAB_DIR, 'graph'), log: join(LAB_DIR, 'logs', 'graph.log') },
  smtp: {
    dir: join(LAB_DIR, 'smtp'),
    messages: join(LAB_DIR, 'smtp', 'messages'),
    log: join(LAB_DIR, 'logs', 'smtp.log'),
  },
};

/** `pilarp@tailspintoys.com` → `uid=pilarp.tailspintoys-com` (the README's RDN rule) */
export function recipientRdn(address: string): string {
  const [local, domain] = splitAddress(address);
  return `uid=${local}.${domain.replace(/\./g, '-')}`;
}

export function recipientDn(side: 'cloud', address: string): string {
  return `${recipientRdn(address)},ou=recipients,${SUFFIX[side]}`;
}

export function splitAddress(address: string): [string, string] {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) throw new Error(`not an e-mail address: "${address}"`);
  return [address.slice(0, at).toLowerCase(), address.slice(at + 1).toLowerCase()];
}

/** a user's Dovecot home; the Maildir (LAYOUT=fs) is `<home>/Maildir` */
export function mailHome(side: Side, address: string): string {
  const [local, domain] = splitAddress(address);
  return join(paths.mail(side), domain, local);
}
