/**
 * The lab's servers come from Debian packages. On a machine that has them
 * this is a few `existsSync` calls; otherwise one `apt-get update` and one
 * install, with slapd preseeded so the package creates no instance of its own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { run } from './proc';

export const DEBIAN_PACKAGES = ['dovecot-imapd', 'dovecot-ldap', 'slapd', 'ldap-utils', 'radicale', 'python3-aiosmtpd', 'samba', 'samba-ad-dc', 'samba-ad-provision', 'winbind', 'ldb-tools'];

const REQUIRED_FILES = [
  '/usr/sbin/dovecot',
  '/usr/lib/dovecot/imap',
  '/usr/lib/dovecot/modules/auth/libauthdb_ldap.so',
  '/usr/sbin/slapd',
  '/usr/lib/ldap/back_mdb.so',
  '/usr/bin/ldapsearch',
  '/usr/bin/radicale',
  '/usr/sbin/samba',
  '/usr/bin/samba-tool',
  // from samba-ad-provision: without it provisioning fails on a missing ad-schema file
  '/usr/share/samba/setup/ad-schema',
];

export function missingPackages(): boolean {
  if (REQUIRED_FILES.some((f) => !existsSync(f))) return true;
  return spawnSync('/usr/bin/python3', ['-c', 'import aiosmtpd'], { stdio: 'ignore' }).status !== 0;
}

export function ensurePackages(log: (line: string) => void): void {
  if (!missingPackages()) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`lab packages are missing; install them as root: apt-get install -y ${DEBIAN_PACKAGES.join(' ')}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing Debian packages: ${DEBIAN_PACKAGES.join(' ')}`);
  run('debconf-set-selections', [], { input: 'slapd slapd/no_configuration boolean true\n', env });
  run('apt-get', ['update'], { env });
  run('apt-get', ['install', '-y', '--no-install-recommends', ...DEBIAN_PACKAGES], { env });
}
