/**
 * The on-premises directory: a real Active Directory domain controller
 * (Debian's Samba AD DC) with Exchange's schema extension.
 *
 * Samba's ports (389, 636, …) cannot be moved per instance, so ONE DC serves
 * every lab on the machine (main lab, fault-suite lab, bench lab, other
 * worktrees): each lab keeps its users under an OU of its own
 * (`OU=lab-<port base>`) and its own Exchange organisation in the
 * configuration partition. The DC lives outside any lab directory, in
 * `~/.cache/mailferry/samba-dc-<samba version>-x<schema revision>/`
 * (MAILFERRY_SAMBA_DIR overrides the parent): provisioning and the schema
 * extension take ~15 s, so they are done once per version and kept. Labs that
 * use the DC register under `labs/`; `lab:down` stops the DC only when no
 * other registered lab still runs.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { z } from 'zod';
import { guidToBytes } from '../../connectors/directory/ad';
import { EXCHANGE_ATTRIBUTES, EXCHANGE_CLASSES, EXCHANGE_SCHEMA_REVISION, MAIL_RECIPIENT_ADDITIONS, USER_AUXILIARY_ADDITIONS } from '../ad/exchangeSchema';
import { LAB_HOST, paths } from '../config';
import { run } from '../proc';

const SAMBA = '/usr/sbin/samba';
const SAMBA_TOOL = '/usr/bin/samba-tool';

export const AD = {
  realm: 'ONPREM.TEST',
  netbiosDomain: 'ONPREM',
  dnsDomain: 'onprem.test',
  hostName: 'dc1',
  domainDn: 'DC=onprem,DC=test',
  configDn: 'CN=Configuration,DC=onprem,DC=test',
  schemaDn: 'CN=Schema,CN=Configuration,DC=onprem,DC=test',
  exchangeDn: 'CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=onprem,DC=test',
} as const;

export const ldapsUrl = () => `ldaps://${LAB_HOST}:636/`;

let cachedVersion: string | undefined;
function sambaVersion(): string {
  cachedVersion ??= run(SAMBA, ['-V']).trim().replace(/^Version\s+/i, '').replace(/[^A-Za-z0-9.+-]/g, '_');
  return cachedVersion;
}

export function dcDir(): string {
  const parent = process.env.MAILFERRY_SAMBA_DIR || join(homedir(), '.cache', 'mailferry');
  return join(parent, `samba-dc-${sambaVersion()}-x${EXCHANGE_SCHEMA_REVISION}`);
}

export const dcPaths = (dir = dcDir()) => ({
  dir,
  conf: join(dir, 'etc', 'smb.conf'),
  pid: join(dir, 'samba.pid'),
  log: join(dir, 'logs', 'samba.log'),
  ca: join(dir, 'tls', 'ca.pem'),
  caKey: join(dir, 'tls', 'ca.key'),
  cert: join(dir, 'tls', 'dc.pem'),
  key: join(dir, 'tls', 'dc.key'),
  secrets: join(dir, 'secrets.json'),
  ready: join(dir, 'ready'),
  labs: join(dir, 'labs'),
});

const dcSecretsSchema = z.object({ administrator: z.string() });
export type DcSecrets = z.infer<typeof dcSecretsSchema>;

export function dcSecrets(): DcSecrets {
  return dcSecretsSchema.parse(JSON.parse(readFileSync(dcPaths().secrets, 'utf8')));
}

export const ADMINISTRATOR = `${AD.netbiosDomain}\\Administrator`;

function smbConf(dir: string): string {
  const p = dcPaths(dir);
  return `# written by lab/servers/samba.ts
[global]
	netbios name = ${AD.hostName.toUpperCase()}
	realm = ${AD.realm}
	workgroup = ${AD.netbiosDomain}
	server role = active directory domain controller
	# LDAP only: no SMB, RPC, Kerberos or DNS listeners the lab does not need
	server services = ldap
	interfaces = lo
	bind interfaces only = yes
	private dir = ${dir}/private
	state directory = ${dir}/state
	cache directory = ${dir}/cache
	lock directory = ${dir}
	pid directory = ${dir}/run
	binddns dir = ${dir}/bind-dns
	logging = file
	log file = ${dir}/logs/log.%m
	tls enabled = yes
	tls keyfile = ${p.key}
	tls certfile = ${p.cert}
	tls cafile = ${p.ca}
	# Exchange's /PrepareSchema: the lab extends the schema over LDAPS
	dsdb:schema update allowed = true
`;
}

/** The lab's own CA and a DC certificate for 127.0.0.1, so clients verify the DC instead of trusting anything. */
function makeCertificates(dir: string): void {
  const p = dcPaths(dir);
  mkdirSync(join(dir, 'tls'), { recursive: true });
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p.caKey, '-out', p.ca, '-days', '3650', '-subj', '/CN=mailferry lab CA']);
  const csr = join(dir, 'tls', 'dc.csr');
  const ext = join(dir, 'tls', 'dc.ext');
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p.key, '-out', csr, '-subj', `/CN=${AD.hostName}.${AD.dnsDomain}`]);
  writeFileSync(ext, `subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:${AD.hostName}.${AD.dnsDomain}\nextendedKeyUsage=serverAuth\n`);
  run('openssl', ['x509', '-req', '-in', csr, '-CA', p.ca, '-CAkey', p.caKey, '-CAcreateserial', '-out', p.cert, '-days', '3650', '-extfile', ext]);
  run('chmod', ['600', p.key, p.caKey]);
}

function provision(dir: string, log: (line: string) => void): void {
  log(`provisioning the Samba AD DC in ${dir} (once per Samba version)`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const secrets: DcSecrets = { administrator: `${randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 20)}Aa1-` };
  writeFileSync(dcPaths(dir).secrets, JSON.stringify(secrets), { mode: 0o600 });
  run(SAMBA_TOOL, [
    'domain', 'provision', `--targetdir=${dir}`, `--realm=${AD.realm}`, `--domain=${AD.netbiosDomain}`, `--host-name=${AD.hostName}`,
    '--server-role=dc', '--dns-backend=NONE', `--adminpass=${secrets.administrator}`,
    '--option=interfaces=lo', '--option=bind interfaces only=yes',
  ]);
  makeCertificates(dir);
  writeFileSync(dcPaths(dir).conf, smbConf(dir));
  // the seed's passwords are short test passwords; nothing here is a real account
  run(SAMBA_TOOL, ['domain', 'passwordsettings', 'set', '-s', dcPaths(dir).conf, '--complexity=off', '--history-length=0', '--min-pwd-age=0', '--max-pwd-age=0', '--min-pwd-length=1']);
}

/** Samba renames its processes ("samba: root process"), so its command line names no path: check the binary and Samba's own pid file instead. */
export function dcPid(): number | null {
  const file = dcPaths().pid;
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function isDcProcess(pid: number | null): pid is number {
  if (pid === null) return false;
  try {
    if (readlinkSync(`/proc/${pid}/exe`) !== SAMBA) return false;
    if (/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
    const own = join(dcPaths().dir, 'run', 'samba.pid');
    return existsSync(own) && Number(readFileSync(own, 'utf8').trim()) === pid;
  } catch {
    return false;
  }
}

function startProcess(dir: string): number {
  const p = dcPaths(dir);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const out = openSync(p.log, 'a');
  // -i: foreground, so the PID we keep is the root process's; -M single: one process
  const child = spawn(SAMBA, ['-s', p.conf, '-i', '-M', 'single'], { detached: true, stdio: ['ignore', out, out] });
  if (child.pid === undefined) throw new Error('could not start samba');
  child.unref();
  writeFileSync(p.pid, `${child.pid}\n`);
  return child.pid;
}

export async function withAdministrator<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url: ldapsUrl(), timeout: 30000, connectTimeout: 5000, tlsOptions: { ca: [readFileSync(dcPaths().ca)] } });
  try {
    await client.bind(ADMINISTRATOR, dcSecrets().administrator);
    return await fn(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

export async function dcAnswers(): Promise<string | null> {
  try {
    await withAdministrator((client) => client.search('', { scope: 'base', attributes: ['defaultNamingContext'] }));
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function waitForDc(timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = 'not probed';
  while (Date.now() < deadline) {
    last = await dcAnswers();
    if (last === null) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the Samba AD DC did not answer LDAPS within ${timeoutMs / 1000}s: ${last} (see ${dcPaths().log})`);
}

const schemaUpdateNow = (client: Client) =>
  client.modify('', new Change({ operation: 'add', modification: new Attribute({ type: 'schemaUpdateNow', values: ['1'] }) }));

/** Exchange's /PrepareSchema for the attributes mailferry uses, as an Administrator over LDAPS. */
async function extendSchema(): Promise<void> {
  await withAdministrator(async (client) => {
    for (const a of EXCHANGE_ATTRIBUTES) {
      const entry: Attribute[] = [
        new Attribute({ type: 'objectClass', values: ['top', 'attributeSchema'] }),
        new Attribute({ type: 'lDAPDisplayName', values: [a.lDAPDisplayName] }),
        new Attribute({ type: 'adminDisplayName', values: [a.cn] }),
        new Attribute({ type: 'attributeID', values: [a.attributeID] }),
        new Attribute({ type: 'attributeSyntax', values: [a.attributeSyntax] }),
        new Attribute({ type: 'oMSyntax', values: [String(a.oMSyntax)] }),
        new Attribute({ type: 'isSingleValued', values: [a.isSingleValued ? 'TRUE' : 'FALSE'] }),
        new Attribute({ type: 'searchFlags', values: [String(a.searchFlags)] }),
      ];
      if (a.schemaIDGUID) entry.push(new Attribute({ type: 'schemaIDGUID', values: [guidToBytes(a.schemaIDGUID)] }));
      if (a.oMObjectClass) entry.push(new Attribute({ type: 'oMObjectClass', values: [Buffer.from(a.oMObjectClass, 'base64')] }));
      if (a.rangeUpper !== undefined) entry.push(new Attribute({ type: 'rangeUpper', values: [String(a.rangeUpper)] }));
      if (a.linkID !== undefined) entry.push(new Attribute({ type: 'linkID', values: [String(a.linkID)] }));
      await client.add(`CN=${a.cn},${AD.schemaDn}`, entry);
    }
    await schemaUpdateNow(client);
    for (const c of EXCHANGE_CLASSES) {
      const entry: Record<string, string | string[]> = {
        objectClass: ['top', 'classSchema'],
        lDAPDisplayName: c.lDAPDisplayName,
        adminDisplayName: c.cn,
        governsID: c.governsID,
        subClassOf: c.subClassOf,
        objectClassCategory: String(c.objectClassCategory),
        mayContain: c.mayContain,
        rDNAttID: 'cn',
      };
      if (c.possSuperiors) entry.possSuperiors = c.possSuperiors;
      await client.add(`CN=${c.cn},${AD.schemaDn}`, [
        ...Object.entries(entry).map(([type, values]) => new Attribute({ type, values: ([] as string[]).concat(values) })),
        new Attribute({ type: 'schemaIDGUID', values: [guidToBytes(c.schemaIDGUID)] }),
      ]);
    }
    await schemaUpdateNow(client);
    const add = (type: string, values: string[]) => new Change({ operation: 'add', modification: new Attribute({ type, values }) });
    await client.modify(`CN=Mail-Recipient,${AD.schemaDn}`, add('mayContain', MAIL_RECIPIENT_ADDITIONS));
    await client.modify(`CN=User,${AD.schemaDn}`, add('auxiliaryClass', USER_AUXILIARY_ADDITIONS));
    await schemaUpdateNow(client);
    await client.add(AD.exchangeDn, { objectClass: ['top', 'container'], cn: 'Microsoft Exchange' });
  });
}

// ---------------------------------------------------------------------------
// Labs sharing the DC

function labKey(): string {
  return (process.env.MAILFERRY_LAB_PORT_BASE || '17000').replace(/[^0-9]/g, '');
}

/** A registered lab still runs when its on-prem Dovecot (started after the DC, stopped before it) does. */
function labRuns(labDir: string): boolean {
  try {
    const pid = Number(readFileSync(join(labDir, 'pids', 'dovecot-onprem.pid'), 'utf8').trim());
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${labDir}/`);
  } catch {
    return false;
  }
}

function register(): void {
  mkdirSync(dcPaths().labs, { recursive: true });
  writeFileSync(join(dcPaths().labs, labKey()), `${paths.root}\n`);
}

/** Ensures the DC is provisioned, extended, running and answering; registers this lab as a user of it. */
export async function ensureDc(log: (line: string) => void): Promise<{ started: boolean }> {
  const p = dcPaths();
  let started = false;
  if (!existsSync(p.ready)) {
    const pid = dcPid();
    if (isDcProcess(pid)) process.kill(pid, 'SIGKILL');
    provision(p.dir, log);
    startProcess(p.dir);
    await waitForDc();
    await extendSchema();
    writeFileSync(p.ready, `${new Date().toISOString()}\n`);
    started = true;
  } else if (!isDcProcess(dcPid()) || (await dcAnswers()) !== null) {
    const pid = dcPid();
    if (isDcProcess(pid)) await stopDcProcess(pid);
    startProcess(p.dir);
    await waitForDc();
    started = true;
  }
  register();
  return { started };
}

async function stopDcProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10000;
  while (isDcProcess(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isDcProcess(pid)) process.kill(pid, 'SIGKILL');
  while (isDcProcess(pid)) await new Promise((r) => setTimeout(r, 50));
}

/** This lab no longer uses the DC; stops it when no other registered lab runs. Returns the PID stopped, if any. */
export async function releaseDc(): Promise<{ stopped: number | null; usedBy: string[] }> {
  const p = dcPaths();
  if (!existsSync(p.dir)) return { stopped: null, usedBy: [] };
  rmSync(join(p.labs, labKey()), { force: true });
  const others = existsSync(p.labs)
    ? readdirSync(p.labs)
        .map((key) => readFileSync(join(p.labs, key), 'utf8').trim())
        .filter((dir) => dir !== paths.root && labRuns(dir))
    : [];
  const pid = dcPid();
  if (others.length > 0 || !isDcProcess(pid)) return { stopped: null, usedBy: others };
  await stopDcProcess(pid);
  return { stopped: pid, usedBy: [] };
}
