/**
 * Runs last (scripts/test-faults.sh calls it after every other fault file).
 * First it adds its own hostile input: a CSV with swapped columns (the
 * passwords under EmailAddress), started through the CLI. Then: no CSV
 * password and no admin password, in plain text, in any workflow history of
 * the suite's Temporal server (raw protobuf bytes of every page of every run,
 * and every payload decoded with the key, as the codec server would show it),
 * any worker log line, the CLI's output, any report file, any e-mail of the
 * SMTP sink (decoded, attachments included) or any artifact.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { simpleParser } from 'mailparser';
import { loadCodec } from '../../shared/codec';
import { readLabInfo } from '../../lab/info';
import { orgState } from '../../client/org';
import { batchResult, labEnv, labOrganisation, ROOT, testSession } from '../helpers/backbone';
import { scanHistory } from '../helpers/historyScan';
import { ARTIFACTS, stateDir, writeArtifact } from './helpers/env';
import { recordVerified } from './helpers/results';
import { csvPassword, usedCsvPasswords } from './helpers/secrets';
import { closeFaultContext, openFaultContext, type FaultContext } from './helpers/suite';

const run = promisify(execFile);

function filesUnder(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const path = join(dir, e);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

let ctx: FaultContext | undefined;
let swappedRows = 0;

beforeAll(async () => {
  ctx = await openFaultContext('secrets-scan');
  await ctx.pool.start();
  const good = await ctx.users.add('scan-good', { messages: 3, contacts: 1, events: 1 });
  const org = await labOrganisation(ctx.session, 'faults-scan', 2);
  const swapped = [1, 2, 3, 4].map((i) => `${csvPassword()},scan-${i}@tailspintoys.com,False`);
  swappedRows = swapped.length;
  const file = join(mkdtempSync(join(tmpdir(), 'mailferry-scan-')), 'swapped-columns.csv');
  writeFileSync(file, ['EmailAddress,Password,ForceChangePassword', `${good.address},${csvPassword()},False`, ...swapped].join('\r\n'));
  const cli = await run(join(ROOT, 'bin', 'mailferry'), ['--org', org, 'batch', 'start', '--csv', file, '--wait'], { env: ctx.pool.env }).catch(
    (e: { stdout: string; stderr: string }) => e,
  );
  writeArtifact(join('cli', 'swapped-columns.txt'), `${cli.stdout}\n${cli.stderr}`);
  const batch = (await orgState(ctx.session.client, org)).batches.at(-1)!.batch;
  const result = await batchResult(ctx.session, org, batch);
  if (result.rejected !== swapped.length)
    throw new Error(`the swapped-column batch rejected ${result.rejected} rows, not ${swapped.length}`);
  // the pool writes each worker's log into the artifacts when it stops
  await closeFaultContext(ctx);
  ctx = undefined;
}, 10 * 60_000);

afterAll(() => closeFaultContext(ctx));

test('no password in any history (raw or decoded), log, CLI output, report, e-mail or artifact', async () => {
  const info = readLabInfo();
  const csv = usedCsvPasswords();
  const secrets = [
    ...csv,
    info.onprem.imap.admin.password,
    info.onprem.ldap.password,
    info.onprem.dav.admin.password,
    info.cloud.imap.admin.password,
    info.cloud.ldap.password,
    info.cloud.dav.admin.password,
  ];
  const hits: string[] = [];
  const scan = (where: string, bytes: Buffer) => {
    for (const s of secrets)
      if (bytes.includes(Buffer.from(s, 'utf8'))) hits.push(`${where} holds ${csv.includes(s) ? 'a CSV password' : 'an admin password'}`);
  };

  const session = await testSession();
  const { codec } = loadCodec(labEnv());
  let histories = 0;
  let historyBytes = 0;
  let decodedPayloads = 0;
  let undecodable = 0;
  try {
    for await (const wf of session.client.workflow.list()) {
      const scanned = await scanHistory(session.client, codec, wf.workflowId, wf.runId);
      historyBytes += scanned.raw.length;
      decodedPayloads += scanned.payloads - scanned.undecodable;
      undecodable += scanned.undecodable;
      scan(`history of ${wf.workflowId} (${wf.runId})`, scanned.raw);
      scan(`decoded history of ${wf.workflowId} (${wf.runId})`, scanned.decoded);
      histories++;
    }
  } finally {
    await session.close();
  }

  const mails = filesUnder(info.smtp.messagesDir);
  for (const file of mails) {
    const raw = readFileSync(file);
    scan(file, raw);
    const mail = await simpleParser(raw);
    scan(`${file} (decoded)`, Buffer.from(`${mail.subject ?? ''}\n${mail.text ?? ''}\n${typeof mail.html === 'string' ? mail.html : ''}`));
    for (const a of mail.attachments) scan(`${file} attachment ${a.filename}`, a.content);
  }
  const reports = filesUnder(join(stateDir(), 'reports'));
  for (const file of reports) scan(file, readFileSync(file));
  const artifacts = filesUnder(ARTIFACTS);
  for (const file of artifacts) scan(file, readFileSync(file));
  const logs = artifacts.filter((f) => f.endsWith('.log'));
  const cliOutputs = artifacts.filter((f) => f.includes(`${join('cli', '')}`));

  await recordVerified(
    {
      fault: 'secrets scan',
      injected: secrets.length,
      injectedHow: 'distinct passwords searched for (every CSV password the suite made, a swapped-column CSV among them, + 6 admin/service passwords)',
      figures: `${hits.length} hits in ${histories} histories (${(historyBytes / 1e6).toFixed(1)} MB raw, ${decodedPayloads} payloads decoded with the key, ${undecodable} not), ${logs.length} worker logs, ${cliOutputs.length} CLI outputs, ${reports.length} reports, ${mails.length} e-mails, ${artifacts.length} artifacts`,
      notes: [`${csv.length} CSV passwords (${swappedRows} of them in a swapped-column CSV, under EmailAddress) + 6 admin/service passwords searched`, ...hits],
    },
    () => {
      // the scan saw real material, so "no hit" means something
      expect(csv.length).toBeGreaterThanOrEqual(5);
      expect(histories).toBeGreaterThanOrEqual(3);
      expect(decodedPayloads).toBeGreaterThan(histories);
      expect(undecodable).toBe(0);
      expect(logs.length).toBeGreaterThan(0);
      expect(cliOutputs.length).toBeGreaterThan(0);
      expect(reports.length).toBeGreaterThan(0);
      expect(mails.length).toBeGreaterThan(0);
      expect(hits).toEqual([]);
    },
  );
});
