/**
 * `mailferry`: the admin CLI. Thin: it validates input, starts, signals and
 * queries workflows, and prints. Every failure exits non-zero with a message
 * that names the cause and the next action.
 */
import { Command, InvalidArgumentError } from 'commander';
import { consolidatedRows, CONSOLIDATED_COLUMNS } from '../activities/consolidated';
import { createTemporalLedger } from '../connectors/ledger/temporal';
import { toCsv, writeReportFileSync } from '../shared/csv';
import { FINISHED_PHASES, type BatchResult } from '../workflows/definitions';
import {
  addRows,
  batchStatus,
  csvSource,
  dryRun,
  formatStatus,
  pickBatch,
  setBatchConcurrency,
  startBatch,
  stopBatch,
  waitForBatch,
} from './batch';
import { reportFolders } from './reports';
import { watchBatch } from './watch';
import { parseWhen } from './when';
import { openSession, type Session } from './connection';
import { CliError, EXIT, exitCodeHelp } from './errors';
import { completeMigration, convertToMeu, rollbackMailbox, syncBatch } from './finish';
import { checkMx } from './mx';
import { checkOrgName, orgState } from './org';
import { addCopyRuleFlags, addRefusedCopyRuleFlags, applySettings, buildSettings, copyRulesOf, redactSettings, retestSettings, type SettingsOptions } from './settings';
import type { CopyRuleFlags } from '../shared/copyRules';
import { describeCopyRules } from '../shared/domain';
import { loadEnvFile } from '../shared/envFile';
import { version } from '../package.json';
import { explainFailure, fixes, requireWorker } from './checks';
import { registerSetupCommands } from './setup';

const program = new Command('mailferry')
  .description('Staged mailbox migration (on-premises → cloud) run as durable Temporal workflows')
  .version(version)
  .option('--org <name>', 'organisation (migration) name (default: MAILFERRY_ORG)')
  .option('--env-file <file>', 'settings file (or MAILFERRY_ENV_FILE; default: ./.env, else the demo’s .state/demo.env)')
  .addHelpText('after', exitCodeHelp)
  .showHelpAfterError()
  .hook('preAction', (_program, command) => {
    // init writes a settings file: it must not take its answers (passwords) from the demo's
    if (command.name() === 'init') return;
    loadEnvFile(program.opts<{ envFile?: string }>().envFile);
    // a missing organisation is a setting to fix, found before any server is asked
    if (command.name() !== 'doctor') org();
  });

const whole = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
};
const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const quietSeconds = (v: boolean | string) => {
  if (v === true) return 300;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`--adaptive takes a whole number of seconds ≥ 1 (got ${String(v)})`, EXIT.BAD_INPUT);
  return n;
};
const org = () => {
  const name = program.opts<{ org?: string }>().org ?? process.env.MAILFERRY_ORG;
  if (!name) throw new CliError(`No organisation chosen: ${fixes.org}`, EXIT.NOT_CONFIGURED);
  return checkOrgName(name);
};
const who = () => process.env.MAILFERRY_ADMIN ?? process.env.USER ?? 'admin';
const print = (value: unknown, json: boolean | undefined, text: () => string) =>
  console.log(json ? JSON.stringify(value, null, 2) : text());

async function withSession<T>(fn: (s: Session) => Promise<T>): Promise<T> {
  const session = await openSession();
  try {
    await requireWorker(session);
    return await fn(session);
  } catch (err) {
    throw explainFailure(err, session.taskQueue) ?? err;
  } finally {
    await session.close();
  }
}

/** After a batch starts: say so (unless --json), then wait and print its summary (--wait), or print the start as JSON. */
async function afterStart(
  s: Session,
  started: { batch: number; workflowId: string },
  opts: { wait?: boolean; json?: boolean },
  message: string,
): Promise<void> {
  if (!opts.json) console.log(message);
  if (opts.wait) {
    const result = await waitForBatch(s, org(), started.batch);
    print(result, opts.json, () => formatStatusLine(result));
  } else if (opts.json) {
    console.log(JSON.stringify(started));
  }
}

// settings ------------------------------------------------------------------
const settings = program.command('settings').description('connection settings of the source organisation (kept for every batch)');
addCopyRuleFlags(settings.command('set'))
  .description('test and keep the connection settings; passwords come from the environment, never the command line')
  .option('--lab', 'take every value from the running lab (npm run -s lab:info)')
  .option('--admin-email <address>', 'migration administrator e-mail address')
  .option('--username <name>', 'DOMAIN\\user or UPN of the migration administrator')
  .option('--password-env <VAR>', 'environment variable holding the admin password', 'MAILFERRY_ADMIN_PASSWORD')
  .option('--password-stdin', 'read the admin password from standard input')
  .option('--mode <mode>', 'manual (autodiscover is not implemented)', 'manual')
  .option('--exchange-server <fqdn>', 'manual mode: the Exchange server FQDN')
  .option('--rpc-proxy <fqdn>', 'manual mode: the RPC proxy server FQDN')
  .option('--imap <host:port>', 'source IMAP endpoint')
  .option('--imap-tls', 'use implicit TLS for IMAP')
  .option('--allow-plaintext', 'allow passwords without TLS to servers other than this machine (IMAP, LDAP, DAV): an explicit choice')
  .option('--master-user <name>', 'login that has Full Access to every mailbox (default: --username)')
  .option(
    '--imap-admin-login <form>',
    "how that login opens a mailbox: authzid (SASL PLAIN, Exchange 2007-2019), exchange-path (DOMAIN\\admin\\alias) or master (Dovecot's <mailbox>*<admin>)",
    'master',
  )
  .option('--ldap-url <url>', 'source directory URL')
  .option('--ldap-base-dn <dn>', 'source directory base DN')
  .option('--ldap-bind-dn <dn>', 'source directory bind name: a DN, DOMAIN\\user or a UPN')
  .option('--ldap-ca-file <pem>', "CA certificate that signed the directory's certificate (on the worker)")
  .option('--ldap-starttls', 'upgrade an ldap:// URL with StartTLS')
  .option('--ldap-attribute-map <map>', 'exchange (Active Directory with Exchange, default) or ldap')
  .option('--ldap-password-env <VAR>', 'environment variable holding the directory password (default: admin password)')
  .option('--dav-url <url>', 'source CalDAV/CardDAV server URL')
  .option('--dav-user <name>', 'source CalDAV/CardDAV admin user')
  .option('--dav-password-env <VAR>', 'environment variable holding the DAV password (default: admin password)')
  .option('--max-concurrent <n>', 'mailboxes migrated at the same time, 1–10', '3')
  .option('--target <kind>', 'the cloud side: generic (the worker\'s LDAP/IMAP/DAV) or m365 (a Microsoft 365 tenant)', 'generic')
  .option('--tenant <id>', 'm365: the directory (tenant) id')
  .option('--client-id <id>', 'm365: the application (client) id of the app registration')
  .option('--certificate <file>', 'm365: PEM with the certificate uploaded to the app registration and its private key (sealed into the settings)')
  .option('--private-key <file>', 'm365: the private key, when it is not in --certificate')
  .option('--routing-domain <domain>', 'm365: the routing domain TargetAddress points to, e.g. contoso.mail.onmicrosoft.com')
  .option('--sku <skuId>', 'm365: the licence that gives the mailbox (a skuId of GET /subscribedSkus with an Exchange Online plan)')
  .option('--disabled-plans <ids>', 'm365: service plan ids of the SKU to leave off, comma-separated')
  .option('--usage-location <CC>', 'm365: country code given to users without a usage location (a licence needs one)')
  .option('--provisioning-timeout <minutes>', 'm365: how long to wait for Exchange Online to create a mailbox after the licence', '1440')
  .option('--provisioning-poll <seconds>', 'm365: how often to look for the mailbox', '60')
  .option('--exchange-guid-grace <minutes>', 'm365: a licence provisioned this long without a mailbox is the synced-msExchMailboxGuid case', '60')
  .option('--graph-url <url>', 'm365: Microsoft Graph (default https://graph.microsoft.com; the lab stand-in with --lab)')
  .option('--authority-url <url>', 'm365: the token authority (default https://login.microsoftonline.com)')
  .option('--authority-ca-file <pem>', 'm365: an extra CA for the authority (on the worker)')
  .option('--target-imap <host:port>', 'm365: IMAP of the tenant (default outlook.office365.com:993; the lab cloud Dovecot with --lab)')
  .option('--max-receive-size <MB>', "m365: the mailboxes' MaxReceiveSize (default 35): a larger message is a bad item, not sent")
  .option('--send-invitations', 'm365: create copied meetings with their attendees, which sends each an invitation (default: without, the list kept in the body)')
  .option('--floating-time-zone <zone>', 'm365: Windows time zone (or UTC) for floating times and all-day events of copied calendars (default UTC)')
  .action((opts: SettingsOptions) =>
    withSession(async (s) => {
      const result = await applySettings(s, org(), buildSettings(opts, s, org()));
      console.log(`Settings of ${org()} tested and saved (${result.serverVersion}, tested ${result.testedAt}).`);
    }),
  );
settings
  .command('test')
  .description('test the saved settings again (connection test and preflight)')
  .action(() =>
    withSession(async (s) => {
      const result = await retestSettings(s, org());
      console.log(`Connection test passed: ${result.serverVersion} (${result.testedAt}).`);
    }),
  );
settings
  .command('show')
  .description('print the saved settings, secrets redacted')
  .option('--json', 'machine-readable output')
  .action((opts: { json?: boolean }) =>
    withSession(async (s) => {
      const state = await orgState(s.client, org());
      if (!state.settings) throw new CliError(`Organisation ${org()} has no settings yet`, EXIT.NOT_FOUND);
      const shown = { tested: state.settingsTestedAt, settings: redactSettings(state.settings) };
      print(shown, opts.json, () => JSON.stringify(shown, null, 2));
    }),
  );

// batch ---------------------------------------------------------------------
const batch = program.command('batch').description('migration batches: one CSV of at most 1,000 mailboxes each');
addCopyRuleFlags(batch.command('start'))
  .description('validate a CSV and start a batch from it; copy-rule flags apply to this batch, over the settings\' rules')
  .requiredOption('--csv <file>', 'CSV with EmailAddress[,Password][,ForceChangePassword]')
  .option('--notify <addresses>', 'extra recipients of the status e-mails, comma separated', list, [])
  .option('--dry-run', 'print what would happen to each row; start nothing')
  .option('--start-after <when>', 'wait until then before starting (ISO date-time or 90s/15m/2h/1d); `batch stop` cancels', (v: string) =>
    parseWhen(v),
  )
  .option('--complete-after <when>', 'after the copy, wait until then, copy what arrived meanwhile, then complete', (v: string) =>
    parseWhen(v),
  )
  .option(
    '--adaptive [quietSeconds]',
    'halve the concurrency when copies hit throttling or dropped sessions; raise it again after quietSeconds (default 300) without, up to the settings cap',
  )
  .option('--wait', 'wait for the batch to finish and print its summary')
  .option('--json', 'machine-readable output')
  .action(
    (opts: {
      csv: string;
      notify: string[];
      dryRun?: boolean;
      startAfter?: string;
      completeAfter?: string;
      adaptive?: boolean | string;
      wait?: boolean;
      json?: boolean;
    } & CopyRuleFlags) =>
      withSession(async (s) => {
        const copyRules = copyRulesOf(opts);
        if (opts.dryRun) {
          const plan = await dryRun(s, org(), opts.csv);
          print(plan, opts.json, () => plan.map((p) => `line ${p.line}  ${p.address}: ${p.plan}`).join('\n'));
          return;
        }
        const { source, warnings } = csvSource(s, org(), opts.csv);
        for (const w of warnings) console.error(`warning: ${w}`);
        const started = await startBatch(s, org(), {
          startedBy: who(),
          notify: opts.notify,
          source,
          startAfter: opts.startAfter,
          completeAfter: opts.completeAfter,
          adaptive: opts.adaptive === undefined ? undefined : { quietSeconds: quietSeconds(opts.adaptive) },
          copyRules,
        });
        await afterStart(
          s,
          started,
          opts,
          `Batch ${started.batch} ${opts.startAfter ? `scheduled for ${opts.startAfter}` : 'started'}: ${started.workflowId}`,
        );
      }),
  );
batch
  .command('status')
  .description('progress of the active (or latest) batch')
  .option('--batch <n>', 'batch number', whole)
  .option('--watch', 'live progress (per-row step, messages and bytes copied, ETA) until the batch ends')
  .option('--json', 'machine-readable output (with --watch: one JSON status per line every 2 seconds)')
  .action((opts: { batch?: number; watch?: boolean; json?: boolean }) =>
    withSession(async (s) => {
      if (opts.watch && !opts.json) {
        await watchBatch(s, org(), opts.batch);
        return;
      }
      for (;;) {
        const status = await batchStatus(s, org(), opts.batch);
        console.log(opts.json ? JSON.stringify(status, null, opts.watch ? undefined : 2) : formatStatus(status));
        if (!opts.watch || FINISHED_PHASES.includes(status.phase)) return;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }),
  );
batch
  .command('wait')
  .description('wait until a batch ends and print its summary')
  .option('--batch <n>', 'batch number', whole)
  .option('--json', 'machine-readable output')
  .action((opts: { batch?: number; json?: boolean }) =>
    withSession(async (s) => {
      const n = pickBatch(await orgState(s.client, org()), opts.batch);
      const result = await waitForBatch(s, org(), n);
      print(result, opts.json, () => formatStatusLine(result));
    }),
  );
batch
  .command('stop')
  .description('stop the active batch: in-flight mailboxes stop now, provisioned ones stay')
  .option('--batch <n>', 'batch number', whole)
  .action((opts: { batch?: number }) =>
    withSession(async (s) => {
      const n = await stopBatch(s, org(), who(), opts.batch);
      console.log(`Stop sent to batch ${n}; the stop report will be e-mailed when in-flight mailboxes have stopped.`);
    }),
  );
addRefusedCopyRuleFlags(batch.command('add'))
  .description("add a CSV's rows to the running batch; they run under the batch's copy rules")
  .requiredOption('--csv <file>', 'CSV with EmailAddress[,Password][,ForceChangePassword]')
  .option('--batch <n>', 'batch number (default: the active batch)', whole)
  .option('--json', 'machine-readable output')
  .action((opts: { csv: string; batch?: number; json?: boolean } & CopyRuleFlags) =>
    withSession(async (s) => {
      const r = await addRows(s, org(), opts.csv, opts.batch, opts);
      const rules = describeCopyRules(r.copyRules);
      print(r, opts.json, () =>
        [
          `Batch ${r.batch}: ${r.added} row(s) added, ${r.rejected.length} rejected; copy rules: ${rules.length ? rules.join('; ') : 'none (every folder and message is copied)'}`,
          ...r.rejected.map((x) => `  line ${x.line}: ${x.address || '(no address)'}: ${x.code}: ${x.message} Fix: ${x.fix}`),
        ].join('\n'),
      );
    }),
  );
batch
  .command('concurrency')
  .description('change how many mailboxes the running batch migrates at once (1–10); rows in flight finish first')
  .argument('<n>', 'new cap, 1–10', whole)
  .option('--batch <n>', 'batch number (default: the active batch)', whole)
  .option('--json', 'machine-readable output')
  .action((n: number, opts: { batch?: number; json?: boolean }) =>
    withSession(async (s) => {
      const changed = await setBatchConcurrency(s, org(), n, opts.batch);
      print(changed, opts.json, () => `Batch ${changed.batch}: at most ${changed.now} mailboxes at once (was ${changed.previous}).`);
    }),
  );
batch
  .command('resume')
  .description('resume rows without a CSV: one mailbox, or every failed row of a batch, from the step that failed')
  .option('--mailbox <address>', 'one mailbox (repeatable, comma separated)', list)
  .option('--failed', 'every failed or stopped row of --batch (default: the latest batch)')
  .option('--batch <n>', 'batch whose failed rows to resume', whole)
  .option('--wait', 'wait for the batch to finish and print its summary')
  .option('--json', 'machine-readable output')
  .action((opts: { mailbox?: string[]; failed?: boolean; batch?: number; wait?: boolean; json?: boolean }) =>
    withSession(async (s) => {
      if (!opts.mailbox?.length && !opts.failed)
        throw new CliError('Say what to resume: --mailbox <address> or --failed [--batch N]', EXIT.BAD_INPUT);
      const state = await orgState(s.client, org());
      const source = opts.mailbox?.length
        ? { kind: 'resume' as const, mailboxes: opts.mailbox.map((m) => m.toLowerCase()) }
        : { kind: 'resume' as const, failedOfBatch: pickBatch(state, opts.batch) };
      const started = await startBatch(s, org(), { startedBy: who(), notify: [], source });
      await afterStart(s, started, opts, `Batch ${started.batch} started to resume: ${started.workflowId}`);
    }),
  );

batch
  .command('sync')
  .description('delta pass: copy only what arrived since the last copy, for every migrated mailbox of a batch')
  .option('--batch <n>', 'batch to sync again (default: the latest batch that was not a sync)', whole)
  .option('--wait', 'wait for the pass to finish and print its summary')
  .option('--json', 'machine-readable output')
  .action((opts: { batch?: number; wait?: boolean; json?: boolean }) =>
    withSession(async (s) => {
      const started = await syncBatch(s, org(), who(), opts.batch);
      await afterStart(s, started, opts, `Batch ${started.batch} started: a delta pass over batch ${started.of} (${started.workflowId})`);
    }),
  );

// mailbox -------------------------------------------------------------------
const mailbox = program.command('mailbox').description('finishing steps for migrated mailboxes');
mailbox
  .command('convert-to-meu')
  .description('turn migrated on-premises mailboxes into mail users (keeps cloud proxy addresses, adds the legacy DN as X500)')
  .option('--batch <n>', 'every mailbox of this batch whose copy completed', whole)
  .option('--mailbox <address>', 'these mailboxes (comma separated)', list)
  .option('--json', 'machine-readable output')
  .action((opts: { batch?: number; mailbox?: string[]; json?: boolean }) =>
    withSession(async (s) => {
      if (!opts.mailbox?.length && opts.batch === undefined)
        throw new CliError('Say what to convert: --batch N or --mailbox X', EXIT.BAD_INPUT);
      const r = await convertToMeu(s, org(), who(), { batch: opts.batch, mailboxes: opts.mailbox?.map((m) => m.toLowerCase()) });
      print(r, opts.json, () =>
        [
          `Converted ${r.converted.length}, already mail users ${r.unchanged.length}, refused ${r.refused.length}, failed ${r.failed.length} (${r.workflowId})`,
          ...r.converted.map((a) => `  converted  ${a}`),
          ...r.unchanged.map((a) => `  unchanged  ${a}`),
          ...r.refused.map((x) => `  refused    ${x.address}: ${x.reason}`),
          ...r.failed.map((x) => `  failed     ${x.address}: ${x.code}: ${x.message}`),
        ].join('\n'),
      );
      if (r.failed.length) process.exitCode = EXIT.UNEXPECTED;
    }),
  );
mailbox
  .command('rollback')
  .description('undo forwarding of one migrated mailbox: mail flows on-premises again; the cloud mailbox and its data stay')
  .argument('<address>', 'the mailbox')
  .option('--json', 'machine-readable output')
  .action((address: string, opts: { json?: boolean }) =>
    withSession(async (s) => {
      const outcome = await rollbackMailbox(s, org(), who(), address);
      const { password: _p, checkpoint: _c, ...shown } = outcome;
      print(
        shown,
        opts.json,
        () => `${outcome.address}: rolled back; targetAddress is ${outcome.previousTargetAddress ?? 'cleared'} again.`,
      );
    }),
  );

// migration -----------------------------------------------------------------
program
  .command('migration')
  .description('the migration as a whole')
  .command('complete')
  .description('Complete Migration: final report and e-mail, batch records removed, the organisation ends (refused while a batch runs)')
  .option('--check-mx', "report where the domain's MX points and its TTL first (a warning, never a stop)")
  .option('--domain <domain>', 'domain for --check-mx (default: the admin e-mail domain)')
  .option('--json', 'machine-readable output')
  .action((opts: { checkMx?: boolean; domain?: string; json?: boolean }) =>
    withSession(async (s) => {
      let mx;
      if (opts.checkMx) {
        const state = await orgState(s.client, org());
        const domain = opts.domain ?? state.settings?.adminEmail.split('@')[1];
        if (!domain) throw new CliError('Give --domain: the organisation has no settings to take it from', EXIT.BAD_INPUT);
        mx = await checkMx(domain);
        if (!opts.json) for (const line of mx.lines) console.error(`warning: MX check: ${line}`);
      }
      const r = await completeMigration(s, org(), who());
      print({ ...r, mx }, opts.json, () =>
        [
          `Migration of ${org()} completed: ${r.mailboxes} mailboxes in the final report, ${r.batchRecordsDeleted} batch records removed.`,
          ...(r.notMigrated.length
            ? [
                `warning: ${r.notMigrated.length} cloud mail users were never migrated:`,
                ...r.notMigrated.map((n) => `  ${n.address}: ${n.reason}`),
              ]
            : []),
          'reports:',
          ...r.reports.map((p) => `  ${p}`),
        ].join('\n'),
      );
    }),
  );

// reports -------------------------------------------------------------------
const reports = program.command('reports').description('the CSV reports of a batch');
reports
  .command('list', { isDefault: true })
  .description('the paths of a batch’s report files (the default)')
  .option('--batch <n>', 'batch number', whole)
  .option('--json', 'machine-readable output')
  .action((opts: { batch?: number; json?: boolean }) =>
    withSession(async (s) => {
      const status = await batchStatus(s, org(), opts.batch);
      print(status.reports, opts.json, () =>
        status.reports.length ? status.reports.join('\n') : `Batch ${status.batch} has no reports yet (${status.phase}).`,
      );
    }),
  );
reports
  .command('consolidated')
  .description('one row per mailbox across every batch: batches, state, steps, messages/bytes copied, skipped items, errors')
  .option('--out <file>', 'write the CSV to this file instead of standard output')
  .option('--json', 'machine-readable output')
  .action((opts: { out?: string; json?: boolean }) =>
    withSession(async (s) => {
      await orgState(s.client, org());
      const rows = await consolidatedRows(createTemporalLedger(s.client, { taskQueue: s.taskQueue, readOnly: true }), org());
      if (opts.json) return console.log(JSON.stringify(rows, null, 2));
      const csv = toCsv(rows, CONSOLIDATED_COLUMNS);
      if (!opts.out) return void process.stdout.write(csv);
      writeReportFileSync(opts.out, csv);
      console.log(`Consolidated report of ${org()} (${rows.length} mailboxes) written to ${opts.out}`);
    }),
  );
reports
  .command('open')
  .description("show a batch's report folder and files (written by the worker, on the worker's host)")
  .option('--batch <n>', 'batch number', whole)
  .option('--json', 'machine-readable output')
  .action((opts: { batch?: number; json?: boolean }) =>
    withSession(async (s) => {
      const status = await batchStatus(s, org(), opts.batch);
      const where = reportFolders(status.reports);
      print(where, opts.json, () =>
        where.folders.length
          ? where.folders
              .map((f) => `${f.folder}\n${f.files.map((x) => `  ${x.name}${x.here ? '' : '  (not on this host)'}`).join('\n')}`)
              .join('\n')
          : `Batch ${status.batch} has no reports yet (${status.phase}).`,
      );
    }),
  );

function formatStatusLine(r: BatchResult): string {
  return [
    `Batch ${r.batch}: ${r.phase}`,
    `  rows ${r.total}, created ${r.created}, completed ${r.completed}, failed ${r.failed}, stopped ${r.stopped}, rejected ${r.rejected}`,
    `  messages copied ${r.messagesCopied} (${(r.bytesCopied / 1e6).toFixed(1)} MB)`,
    ...(r.reports.length ? ['  reports:', ...r.reports.map((p) => `    ${p}`)] : []),
  ].join('\n');
}

registerSetupCommands(program, org);

program.parseAsync(process.argv).catch((err: unknown) => {
  const known = explainFailure(err);
  if (known) {
    console.error(`mailferry: ${known.message}`);
    process.exit(known.exitCode);
  }
  console.error(`mailferry: unexpected error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(EXIT.UNEXPECTED);
});
