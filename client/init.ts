/**
 * `mailferry init`: writes the `.env` and the payload key of an installation
 * from flags (or answers, when run in a terminal), validates it with the
 * worker's own schema, then checks it the way `mailferry doctor` does. The
 * source side is the organisation's settings (`mailferry settings set`, which
 * tests it through the worker): init checks that its endpoints answer and
 * prints that command.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { readLabInfo } from '../lab/info';
import { LAB_ROUTING_DOMAIN } from '../lab/workerEnv';
import { ensureDevCodecKey } from '../shared/codecKey';
import { formatEnvFile, loadEnvFile } from '../shared/envFile';
import { workerEnvSchema } from '../worker/config';
import { TASK_QUEUE } from '../workflows/definitions';
import { CliError, EXIT } from './errors';

export interface InitOptions {
  out: string;
  force?: boolean;
  lab?: boolean;
  org?: string;
  temporalAddress?: string;
  namespace?: string;
  taskQueue?: string;
  cloudLdapUrl?: string;
  cloudLdapBaseDn?: string;
  cloudLdapBindDn?: string;
  routingDomain?: string;
  cloudImap?: string;
  cloudImapTls?: boolean;
  cloudImapMasterUser?: string;
  cloudDavUrl?: string;
  cloudDavUser?: string;
  smtp?: string;
  smtpTls?: boolean;
  reportFrom?: string;
  sourceImap?: string;
  sourceLdapUrl?: string;
  sourceDavUrl?: string;
}

export interface SourceEndpoints {
  imap?: string;
  ldapUrl?: string;
  davUrl?: string;
}

type Asker = {
  text(question: string, fallback?: string): Promise<string | undefined>;
  secret(question: string): Promise<string | undefined>;
};

/** Asks only in a terminal; in a script a missing value stays missing and the schema names it. */
function asker(): Asker & { close(): void } {
  if (!process.stdin.isTTY) return { text: async (_q, f) => f, secret: async () => undefined, close: () => undefined };
  let muted = false;
  const output = new Writable({ write: (chunk, _enc, done) => (muted || process.stdout.write(chunk), done()) });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return {
    async text(question, fallback) {
      const answer = (await rl.question(`${question}${fallback ? ` [${fallback}]` : ''}: `)).trim();
      return answer || fallback;
    },
    async secret(question) {
      process.stdout.write(`${question} (not shown): `);
      muted = true;
      const answer = await rl.question('');
      muted = false;
      process.stdout.write('\n');
      return answer || undefined;
    },
    close: () => rl.close(),
  };
}

const hostPort = (v: string | undefined): [string | undefined, string | undefined] => {
  if (!v) return [undefined, undefined];
  const i = v.lastIndexOf(':');
  return i > 0 ? [v.slice(0, i), v.slice(i + 1)] : [v, undefined];
};

/** The lab's cloud side, as an admin would answer the questions. */
function labAnswers(): Partial<InitOptions> & { passwords: Record<string, string> } {
  const info = readLabInfo();
  const c = info.cloud;
  return {
    cloudLdapUrl: c.ldap.url,
    cloudLdapBaseDn: c.ldap.suffix,
    cloudLdapBindDn: c.ldap.bindDn,
    routingDomain: LAB_ROUTING_DOMAIN,
    cloudImap: `${c.imap.host}:${c.imap.port}`,
    cloudImapTls: c.imap.secure,
    cloudImapMasterUser: c.imap.admin.user,
    cloudDavUrl: c.dav.url,
    cloudDavUser: c.dav.admin.user,
    smtp: `${info.smtp.host}:${info.smtp.port}`,
    reportFrom: 'mailferry@cloud.test',
    sourceImap: `${info.onprem.imap.host}:${info.onprem.imap.port}`,
    sourceLdapUrl: info.onprem.ldap.url,
    sourceDavUrl: info.onprem.dav.url,
    passwords: {
      MAILFERRY_CLOUD_LDAP_PASSWORD: c.ldap.password,
      MAILFERRY_CLOUD_IMAP_PASSWORD: c.imap.admin.password,
      MAILFERRY_CLOUD_DAV_PASSWORD: c.dav.admin.password,
    },
  };
}

export async function writeInstallation(flags: InitOptions): Promise<{ envFile: string; keyFile: string; source: SourceEndpoints }> {
  const out = resolve(flags.out);
  if (existsSync(out) && !flags.force) throw new CliError(`${out} exists: keep it, or give --force to replace it`, EXIT.REFUSED);
  const lab = flags.lab ? labAnswers() : { passwords: {} as Record<string, string> };
  const o: InitOptions = { ...lab, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)), out };
  const ask = asker();
  let values: Record<string, string | undefined>;
  try {
    const secret = async (name: string, what: string) => lab.passwords[name] ?? process.env[name] ?? (await ask.secret(what));
    const [imapHost, imapPort] = hostPort(o.cloudImap ?? (await ask.text('Target IMAP host:port')));
    const [smtpHost, smtpPort] = hostPort(o.smtp ?? (await ask.text('SMTP relay for the reports, host:port')));
    values = {
      TEMPORAL_ADDRESS: o.temporalAddress ?? (await ask.text('Temporal server address', process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233')),
      TEMPORAL_NAMESPACE: o.namespace ?? 'default',
      MAILFERRY_TASK_QUEUE: o.taskQueue ?? TASK_QUEUE,
      MAILFERRY_ORG: o.org ?? (await ask.text('Organisation name (lower-case letters, digits, dashes)')),
      MAILFERRY_CODEC_KEY_FILE: './codec.key',
      MAILFERRY_REPORTS_DIR: './reports',
      MAILFERRY_REPORT_FROM: o.reportFrom ?? (await ask.text('Sender of the report e-mails')),
      MAILFERRY_CLOUD_LDAP_URL: o.cloudLdapUrl ?? (await ask.text('Target directory URL (ldaps://host:636)')),
      MAILFERRY_CLOUD_LDAP_BASE_DN: o.cloudLdapBaseDn ?? (await ask.text('Target directory base DN')),
      MAILFERRY_CLOUD_LDAP_BIND_DN: o.cloudLdapBindDn ?? (await ask.text('Target directory bind DN')),
      MAILFERRY_CLOUD_LDAP_PASSWORD: await secret('MAILFERRY_CLOUD_LDAP_PASSWORD', 'Target directory password'),
      MAILFERRY_CLOUD_ROUTING_DOMAIN: o.routingDomain ?? (await ask.text('Routing domain TargetAddress points at')),
      MAILFERRY_CLOUD_IMAP_HOST: imapHost,
      MAILFERRY_CLOUD_IMAP_PORT: imapPort,
      MAILFERRY_CLOUD_IMAP_SECURE: String(Boolean(o.cloudImapTls)),
      MAILFERRY_CLOUD_IMAP_MASTER_USER: o.cloudImapMasterUser ?? (await ask.text('Target IMAP master user')),
      MAILFERRY_CLOUD_IMAP_PASSWORD: await secret('MAILFERRY_CLOUD_IMAP_PASSWORD', 'Target IMAP master password'),
      MAILFERRY_CLOUD_DAV_URL: o.cloudDavUrl ?? (await ask.text('Target CalDAV/CardDAV URL')),
      MAILFERRY_CLOUD_DAV_USER: o.cloudDavUser ?? (await ask.text('Target CalDAV/CardDAV admin user')),
      MAILFERRY_CLOUD_DAV_PASSWORD: await secret('MAILFERRY_CLOUD_DAV_PASSWORD', 'Target CalDAV/CardDAV password'),
      MAILFERRY_SMTP_HOST: smtpHost,
      MAILFERRY_SMTP_PORT: smtpPort,
      MAILFERRY_SMTP_SECURE: String(Boolean(o.smtpTls)),
    };
    o.sourceImap ??= await ask.text('Source IMAP host:port');
    o.sourceLdapUrl ??= await ask.text('Source directory URL');
    o.sourceDavUrl ??= await ask.text('Source CalDAV/CardDAV URL');
  } finally {
    ask.close();
  }
  const given = Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => Boolean(e[1])));
  // The worker's own schema, so init never writes a file the worker would refuse (names only: values may be passwords).
  const checked = workerEnvSchema.safeParse({ ...given, MAILFERRY_CODEC_KEY_FILE: join(dirname(out), 'codec.key') });
  if (!checked.success)
    throw new CliError(
      `Not written: ${checked.error.issues.map((i) => `${String(i.path[0])} (${i.message})`).join(', ')}; give the flag for each (mailferry init --help)`,
      EXIT.BAD_INPUT,
    );
  if (!given.MAILFERRY_ORG) throw new CliError('Not written: give --org NAME', EXIT.BAD_INPUT);
  const keyFile = ensureDevCodecKey(dirname(out));
  writeFileSync(
    out,
    formatEnvFile(given, [
      'written by `mailferry init`; paths are relative to this file',
      'back up codec.key: without it no stored run can be read',
    ]),
    {
      mode: 0o600,
    },
  );
  return { envFile: out, keyFile, source: { imap: o.sourceImap, ldapUrl: o.sourceLdapUrl, davUrl: o.sourceDavUrl } };
}

/** The file just written, as the checks will see it: its own values, not this shell's. */
export function installationEnv(envFile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  loadEnvFile(envFile, { env });
  return env;
}

export function nextSteps(envFile: string, source: SourceEndpoints): string {
  const flags = [
    source.imap && `--imap ${source.imap}`,
    source.ldapUrl && `--ldap-url ${source.ldapUrl}`,
    source.davUrl && `--dav-url ${source.davUrl}`,
  ];
  const rel = relative(process.cwd(), envFile) || envFile;
  const flag = rel === '.env' ? '' : ` --env-file ${rel}`;
  return [
    `Next, in the mailferry folder:`,
    `  MAILFERRY_ENV_FILE=${envFile} npm run worker        # a worker with these settings`,
    `  MAILFERRY_ADMIN_PASSWORD=… mailferry${flag} settings set --admin-email … --username … ${flags.filter(Boolean).join(' ')} --ldap-base-dn … --ldap-bind-dn …`,
    `  mailferry${flag} doctor`,
  ].join('\n');
}
