/**
 * Running batches under an operator's hand, end to end on the dev server and
 * the lab: a batch that continues-as-new keeps its state and handlers, a stop
 * after continue-as-new still stops, and a running batch's concurrency changes.
 */
import { readLabInfo } from '../lab/info';
import { batchWorkflowId, setConcurrencyUpdate } from '../workflows/definitions';
import { batchResult, csvOf, csvSourceOf, labOrganisation, TestUsers, type TestUser } from './helpers/backbone';
import { batchStatusOf, ownQueue, waitFor, type OwnQueue } from './helpers/operators';
import { setBatchConcurrency, startBatch, stopBatch } from '../client/batch';

let q: OwnQueue;
let users: TestUsers;

beforeAll(async () => {
  q = await ownQueue('ops');
  users = new TestUsers(readLabInfo());
}, 120_000);

afterAll(async () => {
  await q?.close();
  await users?.cleanup();
});

async function smallUsers(prefix: string, n: number, messages = 3): Promise<TestUser[]> {
  const out: TestUser[] = [];
  for (let i = 0; i < n; i++) out.push(await users.add(`${prefix}${i}`, { messages, contacts: 1, events: 1 }));
  return out;
}

const csvFor = (org: string, rows: TestUser[]) => csvSourceOf(q.session, org, csvOf(rows.map((u) => [u.address, '', 'False'])));

test('a batch continues-as-new every rowsPerRun row starts, answers status across runs, and ends with every row done', async () => {
  const rows = await smallUsers('ops-can', 5);
  const org = await labOrganisation(q.session, 'ops-can', 2);
  const { batch } = await startBatch(q.session, org, { startedBy: 'jest', notify: [], source: csvFor(org, rows), rowsPerRun: 2 });
  const handle = q.session.client.workflow.getHandle(batchWorkflowId(org, batch));
  const firstRunId = (await handle.describe()).runId;

  // the status query reaches whichever run is current
  const mid = await waitFor('a second run', async () => {
    const s = await batchStatusOf(q.session, org, batch);
    return s.runs >= 2 && s;
  });
  expect(mid.total).toBe(5);

  const result = await batchResult(q.session, org, batch);
  expect(result.phase).toBe('completed');
  expect(result.completed).toBe(5);
  expect(result.messagesCopied).toBe(15);
  // 5 provision + 5 copy starts at 2 per run: at least 5 runs
  expect(result.runs).toBeGreaterThanOrEqual(5);
  const last = await handle.describe();
  expect(last.runId).not.toBe(firstRunId);
  const s = await batchStatusOf(q.session, org, batch);
  expect(s.phase).toBe('completed');
  expect(s.rows.map((r) => r.state)).toEqual(Array(5).fill('completed'));
}, 300_000);

test('a stop sent after continue-as-new stops the batch and reports the waiting rows', async () => {
  const rows = await smallUsers('ops-canstop', 4);
  const org = await labOrganisation(q.session, 'ops-canstop', 1);
  const { batch } = await startBatch(q.session, org, { startedBy: 'jest', notify: [], source: csvFor(org, rows), rowsPerRun: 1 });
  await waitFor('a second run', async () => (await batchStatusOf(q.session, org, batch)).runs >= 2);
  await stopBatch(q.session, org, 'jest', batch);
  const result = await batchResult(q.session, org, batch);
  expect(result.phase).toBe('stopped');
  const s = await batchStatusOf(q.session, org, batch);
  expect(s.rows.filter((r) => r.error?.code === 'NOT_STARTED').length).toBeGreaterThanOrEqual(1);
  expect(s.rows.some((r) => r.state === 'queued')).toBe(false);
}, 300_000);

test('setConcurrency raises and lowers a running batch’s cap; the server never sees more running rows than the cap', async () => {
  const rows = await smallUsers('ops-conc', 7, 40);
  const org = await labOrganisation(q.session, 'ops-conc', 1);
  const { batch } = await startBatch(q.session, org, { startedBy: 'jest', notify: [], source: csvFor(org, rows) });
  const handle = q.session.client.workflow.getHandle(batchWorkflowId(org, batch));
  const running = async () =>
    (await q.session.client.workflow.count(`MailferryOrg = "${org}" AND WorkflowType = "mailboxWorkflow" AND ExecutionStatus = "Running"`))
      .count;

  await expect(setBatchConcurrency(q.session, org, 11, batch)).rejects.toThrow(/1 to 10/);
  await waitFor('a row in flight', async () => (await batchStatusOf(q.session, org, batch)).active === 1);
  expect(await handle.executeUpdate(setConcurrencyUpdate, { args: [3] })).toEqual({ previous: 1, now: 3 });
  let maxAfterRaise = 0;
  await waitFor('three rows in flight', async () => {
    maxAfterRaise = Math.max(maxAfterRaise, await running());
    return (await batchStatusOf(q.session, org, batch)).active === 3;
  });
  expect(await handle.executeUpdate(setConcurrencyUpdate, { args: [1] })).toEqual({ previous: 3, now: 1 });
  // rows in flight when the cap dropped finish; no new row starts until one is left
  await waitFor('the window to shrink', async () => (await batchStatusOf(q.session, org, batch)).active <= 1);
  let maxAfterLower = 0;
  let samples = 0;
  for (;;) {
    const desc = await handle.describe();
    maxAfterLower = Math.max(maxAfterLower, await running());
    samples++;
    if (desc.status.name !== 'RUNNING') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const result = await batchResult(q.session, org, batch);
  expect(result.completed).toBe(7);
  expect(maxAfterRaise).toBeLessThanOrEqual(3);
  expect(samples).toBeGreaterThan(3);
  expect(maxAfterLower).toBeLessThanOrEqual(1);
  expect((await batchStatusOf(q.session, org, batch)).maxConcurrent).toBe(1);
  // the batch has closed: nothing left to change
  await expect(handle.executeUpdate(setConcurrencyUpdate, { args: [2] })).rejects.toThrow();
}, 300_000);
