/**
 * The mailbox record outlives retention: a batch migrates, then every closed
 * run of that batch and of its mailboxes is deleted from the dev server with
 * `temporal workflow delete` (what retention does), and everything that
 * needs the ledger still works from the records alone: a re-run plans each
 * row right, rollback restores the true previous TargetAddress,
 * convert-to-meu, `batch sync` and Complete Migration (every mailbox in its
 * final report). Complete Migration whose clean-up fails after the final
 * e-mail went out runs again to the end, without a second e-mail.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { readLabInfo, type LabInfo } from '../lab/info';
import { createSourceDirectory } from '../connectors/directory';
import { createTemporalLedger } from '../connectors/ledger/temporal';
import { completeMigration, convertToMeu, rollbackMailbox, syncBatch } from '../client/finish';
import { dryRun } from '../client/batch';
import { orgState } from '../client/org';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addCloudMeu,
  batchResult,
  csvOf,
  csvSourceOf,
  labOrganisation,
  runBatch,
  targetAddressOf,
  temporalCli,
  TestUsers,
} from './helpers/backbone';
import { batchStatusOf, ownQueue, waitFor, type OwnQueue } from './helpers/operators';
import { readSinkMessages } from './helpers/smtpSink';

let info: LabInfo;
let q: OwnQueue;
let users: TestUsers;

beforeAll(async () => {
  info = readLabInfo();
  q = await ownQueue('rec');
  users = new TestUsers(info);
}, 120_000);

afterAll(async () => {
  await q?.close();
  await users?.cleanup();
});

function sourceDirectory() {
  return createSourceDirectory(info.onprem.ldap);
}

async function setTargetAddress(address: string, value: string | null): Promise<void> {
  const dir = sourceDirectory();
  try {
    await dir.restoreTargetAddress(address, value);
  } finally {
    await dir.close();
  }
}

/** What retention does to closed runs: every closed run of the organisation's batches and mailboxes, deleted. */
async function deleteClosedRuns(org: string): Promise<number> {
  const query = `MailferryOrg = "${org}" AND ExecutionStatus != "Running"`;
  const runs: { workflowId: string; runId: string }[] = [];
  for await (const wf of q.session.client.workflow.list({ query })) runs.push({ workflowId: wf.workflowId, runId: wf.runId });
  for (const r of runs) temporalCli('workflow', 'delete', '--yes', '--workflow-id', r.workflowId, '--run-id', r.runId);
  await waitFor(
    'the deleted runs to be gone',
    async () => {
      for (const r of runs) {
        const gone = await q.session.client.workflow
          .getHandle(r.workflowId, r.runId)
          .describe()
          .then(
            () => false,
            (err: unknown) => err instanceof WorkflowNotFoundError,
          );
        if (!gone) return false;
      }
      return true;
    },
    60_000,
  );
  return runs.length;
}

test('after every closed run is deleted, re-run, rollback, convert-to-meu, sync and Complete Migration work from the records', async () => {
  const since = new Date(Date.now() - 1000);
  const migrated = await users.add('rec-mig', { messages: 8, contacts: 1, events: 1 });
  const rolled = await users.add('rec-roll', { messages: 4 });
  const failing = await users.add('rec-nomeu', { kind: 'no-meu', messages: 5 });
  // forwarding that mailferry must give back on rollback, exactly
  const original = `SMTP:${rolled.address.split('@')[0]}@old-relay.tailspintoys.com`;
  await setTargetAddress(rolled.address, original);
  const org = await labOrganisation(q.session, 'rec', 2);
  const rows: [string, string, string][] = [migrated, rolled, failing].map((u) => [u.address, '', 'False']);
  const first = await runBatch(q.session, org, csvSourceOf(q.session, org, csvOf(rows)));
  const r1 = await batchResult(q.session, org, first.batch);
  expect([r1.completed, r1.failed]).toEqual([2, 1]);

  expect(await deleteClosedRuns(org)).toBeGreaterThanOrEqual(6);
  // nothing of the first batch's runs is left to read
  await expect(q.session.client.workflow.getHandle(`${org}/batch/${first.batch}`).describe()).rejects.toThrow(WorkflowNotFoundError);

  // the re-run plan from the records alone (the CLI's --dry-run) and the re-run itself
  const dir = mkdtempSync(join(tmpdir(), 'mf-rec-'));
  const csvPath = join(dir, 'again.csv');
  writeFileSync(csvPath, csvOf(rows));
  const plan = Object.fromEntries((await dryRun(q.session, org, csvPath)).map((p) => [p.address, p.plan]));
  expect(plan[migrated.address]).toMatch(/reset TargetAddress only/);
  expect(plan[failing.address]).toMatch(/resume at verifyMeu/);

  await addCloudMeu(info, failing.address);
  // an on-premises admin cleared forwarding meanwhile: the re-run sets it again, the record keeps what was there first
  await setTargetAddress(migrated.address, null);
  await setTargetAddress(rolled.address, null);
  const second = await runBatch(q.session, org, csvSourceOf(q.session, org, csvOf(rows)));
  const r2 = await batchResult(q.session, org, second.batch);
  expect(r2.failed).toBe(0);
  const s2 = Object.fromEntries((await batchStatusOf(q.session, org, second.batch)).rows.map((r) => [r.address, r]));
  expect(s2[migrated.address].plan).toEqual({ kind: 'resetTargetAddress' });
  expect(s2[migrated.address].copy?.messagesCopied).toBe(8);
  expect(s2[rolled.address].plan).toEqual({ kind: 'resetTargetAddress' });
  expect(s2[failing.address].plan).toEqual({ kind: 'resume', from: 'verifyMeu' });
  expect(s2[failing.address].state).toBe('completed');
  expect(await targetAddressOf(info, migrated.address)).not.toBeNull();

  // again, nothing closed is left; then rollback gives back the forwarding of before the first batch, not mailferry's own
  await deleteClosedRuns(org);
  const back = await rollbackMailbox(q.session, org, 'jest', rolled.address);
  expect(back.state).toBe('rolledBack');
  expect(await targetAddressOf(info, rolled.address)).toBe(original);

  await deleteClosedRuns(org);
  const sync = await syncBatch(q.session, org, 'jest', first.batch);
  const r3 = await batchResult(q.session, org, sync.batch);
  expect(r3.phase).toBe('completed');
  expect(r3.total).toBe(2); // the two whose copy completed and still forward to the cloud
  expect(r3.failed).toBe(0);

  const conv = await convertToMeu(q.session, org, 'jest', { batch: first.batch });
  expect(conv.converted.sort()).toEqual([failing.address, migrated.address].sort());
  expect(conv.refused.map((r) => r.address)).toEqual([rolled.address]);

  await deleteClosedRuns(org);
  const done = await completeMigration(q.session, org, 'jest');
  expect(done.mailboxes).toBe(3);
  const mail = await waitFor(
    'the final e-mail',
    async () => (await readSinkMessages(info, { since, subject: `Migration completed: ${org}` }))[0],
  );
  const final = mail.mail.attachments.find((x) => x.filename === 'FinalReport.csv')!.content.toString();
  for (const u of [migrated, rolled, failing]) expect(final).toContain(u.address);
  expect(final).toMatch(new RegExp(`^${migrated.address},1 2 3,completed,`, 'm'));
  expect(final).toMatch(new RegExp(`^${rolled.address},1 2,rolledBack,`, 'm'));
  // the records ended with the migration
  await waitFor(
    'the records to close',
    async () =>
      (await createTemporalLedger(q.session.client, { taskQueue: q.session.taskQueue, readOnly: true }).mailboxes(org)).length === 0,
  );
}, 600_000);

test('Complete Migration whose clean-up fails after the final report and e-mail: a second run finishes, one final e-mail, records closed', async () => {
  const since = new Date(Date.now() - 1000);
  const a = await users.add('rec-cm-a', { messages: 2 });
  const b = await users.add('rec-cm-b', { kind: 'no-meu', messages: 2 });
  const org = await labOrganisation(q.session, 'rec-cm', 2);
  const first = await runBatch(q.session, org, csvSourceOf(q.session, org, csvOf([a, b].map((u) => [u.address, '', 'False']))));
  expect((await batchResult(q.session, org, first.batch)).completed).toBe(1);
  await waitFor('the batch slot to be freed', async () => (await orgState(q.session.client, org)).activeBatch === null);

  // A run of the batch's workflow ID that is still open (mailferry's own type and queue, its first task delayed an
  // hour, so no worker runs it): the clean-up's first part refuses to delete it, after the final report was
  // written and the final e-mail sent, as a crash there would.
  const blocker = await q.session.client.workflow.start('batchWorkflow', {
    workflowId: `${org}/batch/${first.batch}`,
    taskQueue: q.session.taskQueue,
    startDelay: '1 hour',
    args: [],
  });
  await expect(completeMigration(q.session, org, 'jest')).rejects.toThrow(/still running/);
  const state = await orgState(q.session.client, org);
  expect(state.completed).toBe(false);
  expect(state.finalReport?.mailboxes).toBe(2);
  expect(await createTemporalLedger(q.session.client, { taskQueue: q.session.taskQueue, readOnly: true }).mailboxes(org)).toHaveLength(2);

  await blocker.terminate('jest: the crash is over');
  const done = await completeMigration(q.session, org, 'jest');
  expect(done.mailboxes).toBe(2);
  expect((await orgState(q.session.client, org)).completed).toBe(true);
  await waitFor('the records to close', async () => (await createTemporalLedger(q.session.client, { taskQueue: q.session.taskQueue, readOnly: true }).mailboxes(org)).length === 0);

  const subject = `Migration completed: ${org}`;
  const mail = await waitFor('the final e-mail', async () => (await readSinkMessages(info, { since, subject }))[0]);
  const final = mail.mail.attachments.find((x) => x.filename === 'FinalReport.csv')!.content.toString();
  for (const u of [a, b]) expect(final).toContain(u.address);
  // time for a second copy to arrive, were one on its way
  await new Promise((r) => setTimeout(r, 8000));
  expect((await readSinkMessages(info, { since, subject })).map((m) => m.mail.messageId)).toEqual([mail.mail.messageId]);
}, 300_000);
