/**
 * The organisation never wedges, and nothing but a batch's real end frees its
 * slot: a batch terminated with the Temporal CLI frees it (the next batch
 * starts, `batch status` says what happened, `batch wait` says by whom and
 * why, exit 8); a forged "finished" signal is refused and the slot stays
 * held; a completed migration is not revived by `settings set`. An SMTP outage during a batch delays its e-mails, never the
 * batch, and each recipient gets each report exactly once.
 */
import { readLabInfo, type LabInfo } from '../lab/info';
import { startLabServer, stopLabServer } from '../lab/control';
import { batchStatus, startBatch, stopBatch } from '../client/batch';
import { completeMigration } from '../client/finish';
import { orgState } from '../client/org';
import { applySettings, buildSettings } from '../client/settings';
import { batchFinishedSignal, batchWorkflowId, organisationWorkflowId } from '../workflows/definitions';
import { batchResult, csvOf, csvSourceOf, labOrganisation, runBatch, runCli, temporalCli, TestUsers } from './helpers/backbone';
import { batchStatusOf, forgedBatchResult, ownQueue, waitFor, type OwnQueue } from './helpers/operators';
import { readSinkMessages } from './helpers/smtpSink';
import { EXIT } from '../client/errors';

let info: LabInfo;
let q: OwnQueue;
let users: TestUsers;

beforeAll(async () => {
  info = readLabInfo();
  q = await ownQueue('wedge');
  users = new TestUsers(info);
}, 120_000);

afterAll(async () => {
  await startLabServer('smtp').catch(() => undefined);
  await q?.close();
  await users?.cleanup();
});

test('a batch terminated with the Temporal CLI frees the slot: status says so and the next batch starts', async () => {
  const big = await users.add('wedge-big', { messages: 600 });
  const next = await users.add('wedge-next', { messages: 2 });
  const org = await labOrganisation(q.session, 'wedge-term', 1);
  const { batch } = await runBatch(q.session, org, csvSourceOf(q.session, org, csvOf([[big.address, '', 'False']])));
  await waitFor('the row in flight', async () => (await batchStatusOf(q.session, org, batch)).active === 1);
  temporalCli('workflow', 'terminate', '--workflow-id', batchWorkflowId(org, batch), '--reason', 'jest: an SRE');

  // `batch wait` says what happened, with its own exit code, instead of "unexpected error"
  const waited = await runCli(q.env, '--org', org, 'batch', 'wait', '--batch', String(batch));
  expect(waited.stderr).not.toMatch(/unexpected error/);
  expect(waited.stderr).toMatch(
    new RegExp(
      `Batch ${batch} of ${org} ended as terminated by .+ \\(reason: jest: an SRE\\)\\. the batch was terminated from outside mailferry`,
    ),
  );
  expect(waited.code).toBe(EXIT.BATCH_ENDED);

  const status = await batchStatus(q.session, org, batch);
  expect(status.execution?.status).toBe('TERMINATED');
  expect(status.execution?.note).toMatch(/terminated from outside mailferry/);

  const second = await runBatch(q.session, org, csvSourceOf(q.session, org, csvOf([[next.address, '', 'False']])));
  expect(second.batch).toBe(batch + 1);
  expect((await batchResult(q.session, org, second.batch)).completed).toBe(1);
  const state = await orgState(q.session.client, org);
  expect(state.batches.find((b) => b.batch === batch)?.endedAs).toBe('TERMINATED');
  // the terminated row's record says what happened instead of a guess
  const again = await runBatch(q.session, org, { kind: 'resume', mailboxes: [big.address] });
  expect((await batchResult(q.session, org, again.batch)).completed).toBe(1);
  const resumed = (await batchStatusOf(q.session, org, again.batch)).rows[0];
  expect(resumed.plan).toMatchObject({ kind: 'resume' });
}, 300_000);

test('a forged "finished" signal is refused: the slot stays held until the batch really ends', async () => {
  const waiting = await users.add('wedge-wait', { messages: 1 });
  const other = await users.add('wedge-other', { messages: 1 });
  const org = await labOrganisation(q.session, 'wedge-forge', 1);
  // a scheduled batch: running, with nothing to do for an hour
  const { batch } = await startBatch(q.session, org, {
    startedBy: 'jest',
    notify: [],
    source: csvSourceOf(q.session, org, csvOf([[waiting.address, '', 'False']])),
    startAfter: new Date(Date.now() + 3_600_000).toISOString(),
  });
  const forged = forgedBatchResult(batch);
  await q.session.client.workflow.getHandle(organisationWorkflowId(org)).signal(batchFinishedSignal, forged);

  const checked = await waitFor('the organisation to check the batch', async () => {
    const s = await orgState(q.session.client, org);
    return s.lastReconcile?.batch === batch && s.lastReconcile;
  });
  expect(checked).toMatchObject({ freed: false, status: 'RUNNING' });
  expect((await orgState(q.session.client, org)).activeBatch).toBe(batch);
  await expect(runBatch(q.session, org, csvSourceOf(q.session, org, csvOf([[other.address, '', 'False']])))).rejects.toThrow(
    /still active/,
  );

  // the batch's own end frees it, with the batch's real result
  await stopBatch(q.session, org, 'jest', batch);
  const result = await batchResult(q.session, org, batch);
  expect(result.phase).toBe('stopped');
  await waitFor('the slot to be freed', async () => (await orgState(q.session.client, org)).activeBatch === null);
  const entry = (await orgState(q.session.client, org)).batches.find((b) => b.batch === batch);
  expect(entry).toMatchObject({ endedAs: 'COMPLETED', result: { phase: 'stopped' } });
}, 300_000);

test('a completed migration is not revived by settings set', async () => {
  const org = await labOrganisation(q.session, 'wedge-done', 1);
  await completeMigration(q.session, org, 'jest');
  await expect(applySettings(q.session, org, buildSettings({ lab: true, maxConcurrent: 1 }, q.session, org))).rejects.toThrow(
    /migration of .* is complete .*another name/,
  );
  const run = await q.session.client.workflow.getHandle(organisationWorkflowId(org)).describe();
  expect(run.status.name).toBe('COMPLETED');
}, 120_000);

test('an SMTP outage during a batch: the batch completes, its e-mails wait, then each arrives once per recipient', async () => {
  const since = new Date(Date.now() - 1000);
  const a = await users.add('wedge-mail-a', { messages: 3 });
  const b = await users.add('wedge-mail-b', { messages: 3 });
  const org = await labOrganisation(q.session, 'wedge-smtp', 2);
  const notify = ['helpdesk@tailspintoys.com'];
  await stopLabServer('smtp');
  let restarted = false;
  try {
    const { batch } = await runBatch(
      q.session,
      org,
      csvSourceOf(q.session, org, csvOf([a, b].map((u) => [u.address, '', 'False']))),
      notify,
    );
    const result = await batchResult(q.session, org, batch);
    expect(result.phase).toBe('completed');
    expect(result.completed).toBe(2);
    const status = await batchStatus(q.session, org, batch);
    expect(status.mail.map((m) => [m.kind, m.delivery])).toEqual([
      ['mailboxesReady', 'pending'],
      ['migrationComplete', 'pending'],
    ]);
    await startLabServer('smtp');
    restarted = true;
    await waitFor(
      'both e-mails sent',
      async () => (await batchStatus(q.session, org, batch)).mail.every((m) => m.delivery === 'sent'),
      600_000,
    );
    const mails = await readSinkMessages(info, { since, subject: `${org} batch ${batch}` });
    for (const kind of ['Mailboxes Ready', 'Migration Complete']) {
      const copies = mails.filter((m) => m.mail.subject?.includes(kind));
      expect(copies).toHaveLength(1);
      const to = [copies[0].mail.to].flat().flatMap((x) => x?.value.map((v) => v.address) ?? []);
      expect(to.sort()).toEqual(['admin@tailspintoys.com', ...notify].sort());
      expect(copies[0].mail.messageId).toMatch(new RegExp(`^<${org}\\.batch-${batch}\\.`));
    }
  } finally {
    if (!restarted) await startLabServer('smtp');
  }
}, 900_000);
