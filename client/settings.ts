/**
 * `mailferry settings set|test|show`: the connection settings of DESIGN 1.
 * Passwords are read from the environment or standard input, never from the
 * command line (where `ps` would show them), and are sealed before they leave
 * this process.
 */
import { readFileSync } from 'node:fs';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { copyRulesFromFlags, type CopyRuleFlags } from '../shared/copyRules';
import { describeCopyRules, type CopyRules } from '../shared/domain';
import { readLabInfo } from '../lab/info';
import { ADMIN_LOGINS } from '../shared/domain';
import { organisationWorkflowId, setSettingsUpdate, type ConnectionSettings } from '../workflows/definitions';
import type { Session } from './connection';
import { CliError, EXIT, optionIssues } from './errors';
import { orgState, refusedAsCliError, startOrgOperation } from './org';
import { buildTarget, redactTarget, type TargetOptions } from './target';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');

export const settingsOptionsSchema = z.object({
  lab: z.boolean().default(false),
  adminEmail: z.string().email().optional(),
  username: z.string().min(1).optional(),
  passwordEnv: z.string().default('MAILFERRY_ADMIN_PASSWORD'),
  passwordStdin: z.boolean().default(false),
  // autodiscover is refused until it works (it did nothing: the endpoints had to be given anyway)
  mode: z.literal('manual', { error: 'only manual is supported: give the servers with --imap, --ldap-url and --dav-url (autodiscover is not implemented)' }).default('manual'),
  exchangeServer: z.string().optional(),
  rpcProxy: z.string().optional(),
  imap: hostPort.optional(),
  imapTls: z.boolean().default(false),
  allowPlaintext: z.boolean().default(false),
  masterUser: z.string().optional(),
  imapAdminLogin: z.enum(ADMIN_LOGINS, { error: `one of ${ADMIN_LOGINS.join(', ')}` }).default('master'),
  ldapUrl: z.string().url().optional(),
  ldapBaseDn: z.string().optional(),
  ldapBindDn: z.string().optional(),
  ldapPasswordEnv: z.string().optional(),
  ldapCaFile: z.string().optional(),
  ldapStarttls: z.boolean().default(false),
  ldapAttributeMap: z.enum(['exchange', 'ldap']).default('exchange'),
  davUrl: z.string().url().optional(),
  davUser: z.string().optional(),
  davPasswordEnv: z.string().optional(),
  maxConcurrent: z.coerce.number().int().min(1, 'at least 1').max(10, 'at most 10 (the seed caps it)').default(3),
  // the copy rules' flags, checked by copyRulesFromFlags (shared/copyRules.ts)
  includeFolder: z.array(z.string()).optional(),
  excludeFolder: z.array(z.string()).optional(),
  renameFolder: z.array(z.string()).optional(),
  maxAgeDays: z.string().optional(),
  maxMessageSize: z.string().optional(),
}).refine((o) => o.imapAdminLogin !== 'exchange-path' || (o.masterUser ?? o.username ?? '\\').includes('\\'), {
  path: ['imapAdminLogin'],
  error: 'exchange-path logs in as DOMAIN\\admin\\alias: give the admin as DOMAIN\\user (--master-user or --username)',
});
export type SettingsOptions = z.input<typeof settingsOptionsSchema> & TargetOptions;

function secretFromEnv(name: string, what: string): string {
  const value = process.env[name];
  if (!value)
    throw new CliError(`Give the ${what} in the environment variable ${name} (it is never taken on the command line)`, EXIT.BAD_INPUT);
  return value;
}

function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new CliError(`Missing ${flag} (or use --lab to take every value from the running lab)`, EXIT.BAD_INPUT);
  return value;
}

/** The lab's on-premises side, as an admin would type it, for the demo and tests. */
function fromLab(): {
  settings: Omit<ConnectionSettings, 'password' | 'source'> & { source: Omit<ConnectionSettings['source'], 'directory' | 'dav'> };
  secrets: Record<'admin' | 'ldap' | 'dav', string>;
  ldap: { url: string; baseDn: string; bindDn: string; caFile?: string };
  dav: { url: string; user: string };
} {
  const info = readLabInfo();
  const side = info.onprem;
  return {
    settings: {
      adminEmail: side.imap.admin.user,
      username: side.imap.admin.user,
      mode: 'manual',
      exchangeServer: `${side.imap.host}:${side.imap.port}`,
      maxConcurrentMailboxes: 3,
      // the lab's Dovecot takes Exchange's SASL PLAIN authorisation identity, so the demo and the tests go through it
      source: { imap: { host: side.imap.host, port: side.imap.port, secure: side.imap.secure, adminLogin: 'authzid' }, masterUser: side.imap.admin.user },
    },
    secrets: { admin: side.imap.admin.password, ldap: side.ldap.password, dav: side.dav.admin.password },
    ldap: { url: side.ldap.url, baseDn: side.ldap.suffix, bindDn: side.ldap.bindDn, caFile: side.ldap.caFile },
    dav: { url: side.dav.url, user: side.dav.admin.user },
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

const COPY_RULE_FLAGS: Array<{ key: keyof CopyRuleFlags; flags: string; description: string; repeatable?: boolean }> = [
  { key: 'includeFolder', flags: '--include-folder <pattern>', description: 'copy only folders matching this pattern (* one level, ** any, levels joined by /); repeatable', repeatable: true },
  { key: 'excludeFolder', flags: '--exclude-folder <pattern>', description: 'leave out folders matching this pattern; repeatable', repeatable: true },
  { key: 'renameFolder', flags: '--rename-folder <from=to>', description: 'copy the source folder FROM (and its subfolders) as TO on the target; repeatable', repeatable: true },
  { key: 'maxAgeDays', flags: '--max-age-days <n>', description: 'leave out messages older than this many days (counted in the report)' },
  { key: 'maxMessageSize', flags: '--max-message-size <size>', description: 'leave out messages larger than this (bytes, or e.g. 25MB; counted in the report)' },
];

function copyRuleOptions(hidden: boolean): Option[] {
  return COPY_RULE_FLAGS.map(({ flags, description, repeatable }) => {
    const option = new Option(flags, description);
    if (repeatable) option.argParser(collect);
    return hidden ? option.hideHelp() : option;
  });
}

/** The copy-rule flags, for `settings set` (the organisation's rules) and `batch start` (this batch's, over the organisation's). */
export function addCopyRuleFlags(command: Command): Command {
  for (const option of copyRuleOptions(false)) command.addOption(option);
  return command;
}

/**
 * `batch add`: its rows join a running batch, whose copy rules were fixed
 * when it started (every row and the batch's reports go by them). The flags
 * are taken, unlisted, only to be refused with what to do instead, rather
 * than commander's bare "unknown option".
 */
export function addRefusedCopyRuleFlags(command: Command): Command {
  for (const option of copyRuleOptions(true)) command.addOption(option);
  return command;
}

/** The copy-rule flags given on the command line, by their names as typed (for a refusal that names them). */
export function givenCopyRuleFlags(flags: CopyRuleFlags): string[] {
  return COPY_RULE_FLAGS.filter(({ key }) => flags[key] !== undefined).map(({ flags: spec }) => spec.split(' ')[0]!);
}

/** The rules the flags give, or undefined when none was given; a bad flag is refused with what to write instead. */
export function copyRulesOf(flags: CopyRuleFlags): CopyRules | undefined {
  const { rules, errors } = copyRulesFromFlags(flags);
  if (errors.length > 0) throw new CliError(errors.join('\n'), EXIT.BAD_INPUT);
  return rules;
}

export function buildSettings(raw: SettingsOptions, session: Session, org: string): ConnectionSettings {
  const parsed = settingsOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new CliError(optionIssues(parsed.error), EXIT.BAD_INPUT);
  }
  const o = parsed.data;
  const seal = (v: string) => session.secrets.seal(org, v);
  const target = buildTarget(raw, seal, o.lab);
  const copyRules = copyRulesOf(o);
  if (o.lab) {
    const lab = fromLab();
    return {
      ...lab.settings,
      ...(target ? { target } : {}),
      ...(copyRules && { copyRules }),
      maxConcurrentMailboxes: o.maxConcurrent,
      password: seal(lab.secrets.admin),
      source: {
        ...lab.settings.source,
        directory: { ...lab.ldap, password: seal(lab.secrets.ldap) },
        dav: { ...lab.dav, password: seal(lab.secrets.dav) },
      },
    };
  }
  const password = o.passwordStdin
    ? readFileSync(0, 'utf8').replace(/\r?\n$/, '')
    : secretFromEnv(o.passwordEnv, 'migration administrator password');
  const [host, port] = required(o.imap, '--imap host:port').split(':');
  const masterUser = o.masterUser ?? required(o.username, '--username');
  return {
    adminEmail: required(o.adminEmail, '--admin-email'),
    username: required(o.username, '--username'),
    password: seal(password),
    mode: o.mode,
    exchangeServer: o.exchangeServer,
    rpcProxyServer: o.rpcProxy,
    maxConcurrentMailboxes: o.maxConcurrent,
    ...(target ? { target } : {}),
    ...(copyRules && { copyRules }),
    source: {
      imap: { host, port: Number(port), secure: o.imapTls, allowPlaintext: o.allowPlaintext, adminLogin: o.imapAdminLogin },
      masterUser,
      directory: {
        url: required(o.ldapUrl, '--ldap-url'),
        baseDn: required(o.ldapBaseDn, '--ldap-base-dn'),
        bindDn: required(o.ldapBindDn, '--ldap-bind-dn'),
        password: o.ldapPasswordEnv ? seal(secretFromEnv(o.ldapPasswordEnv, 'directory password')) : undefined,
        allowPlaintext: o.allowPlaintext,
        caFile: o.ldapCaFile,
        startTls: o.ldapStarttls,
        attributeMap: o.ldapAttributeMap,
      },
      dav: {
        url: required(o.davUrl, '--dav-url'),
        user: o.davUser ?? required(o.username, '--username'),
        password: o.davPasswordEnv ? seal(secretFromEnv(o.davPasswordEnv, 'CalDAV/CardDAV password')) : undefined,
        allowPlaintext: o.allowPlaintext,
      },
    },
  };
}

/**
 * Tests the settings on the organisation (connection test + preflight) and
 * keeps them only if the test passes. A completed migration stays completed:
 * the server refuses a new run of its workflow, and the CLI says what to do.
 */
export async function applySettings(session: Session, org: string, settings: ConnectionSettings) {
  try {
    return await refusedAsCliError(() =>
      session.client.workflow.executeUpdateWithStart(setSettingsUpdate, {
        args: [settings],
        startWorkflowOperation: startOrgOperation(org, session.taskQueue),
      }),
    );
  } catch (err) {
    if (
      err instanceof WorkflowExecutionAlreadyStartedError ||
      (err as { cause?: unknown }).cause instanceof WorkflowExecutionAlreadyStartedError
    )
      throw new CliError(
        `The migration of ${org} is complete (Complete Migration ran): its settings no longer change. Start a new migration under another name: \`mailferry --org <new-name> settings set …\``,
        EXIT.REFUSED,
      );
    throw err;
  }
}

export async function retestSettings(session: Session, org: string) {
  const state = await orgState(session.client, org);
  if (!state.settings) throw new CliError(`Organisation ${org} has no settings yet: run \`mailferry settings set\``, EXIT.NOT_FOUND);
  const settings = state.settings;
  return refusedAsCliError(() =>
    session.client.workflow.getHandle(organisationWorkflowId(org)).executeUpdate(setSettingsUpdate, { args: [settings] }),
  );
}

/** The settings with every secret replaced, for `settings show`. */
export function redactSettings(settings: ConnectionSettings): unknown {
  return {
    ...settings,
    copyRulesInWords: describeCopyRules(settings.copyRules),
    password: '[sealed]',
    target: redactTarget(settings.target),
    source: {
      ...settings.source,
      directory: { ...settings.source.directory, password: settings.source.directory.password ? '[sealed]' : '(admin password)' },
      dav: { ...settings.source.dav, password: settings.source.dav.password ? '[sealed]' : '(admin password)' },
    },
  };
}
