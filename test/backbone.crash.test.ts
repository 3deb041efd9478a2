/**
 * A worker process killed with SIGKILL in the middle of a copy: a new worker
 * picks the activity up after its heartbeat timeout and resumes from the last
 * heartbeated checkpoint; the verifier then finds every message exactly once.
 */
import { readLabInfo, type LabInfo } from '../lab/info';
import { labEndpoints, verifyMailbox } from '../lab/verify';
import type { Session } from '../client/connection';
import { batchStatusQuery, batchWorkflowId, mailboxWorkflowId } from '../workflows/definitions';
import {
  batchResult,
  csvOf,
  csvSourceOf,
  labOrganisation,
  runBatch,
  startWorker,
  testSession,
  TestUsers,
  type WorkerProcess,
} from './helpers/backbone';

let info: LabInfo;
let session: Session;
let users: TestUsers;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  info = readLabInfo();
  session = await testSession();
  users = new TestUsers(info);
});

afterAll(async () => {
  for (const w of workers) await w.stop();
  await users.cleanup();
  await session.close();
});

test('SIGKILL of the worker mid-copy: a new worker finishes the batch from the checkpoint, every message exactly once', async () => {
  const big = await users.add('crash-big', { messages: 2000, largeMessages: 1, contacts: 2, events: 2 });
  const small = await users.add('crash-small', { messages: 50 });
  workers.push(await startWorker());
  const org = await labOrganisation(session, 'crash', 2);
  const { batch } = await runBatch(
    session,
    org,
    csvSourceOf(
      session,
      org,
      csvOf([
        [big.address, '', 'False'],
        [small.address, '', 'False'],
      ]),
    ),
  );

  // Wait until the big mailbox's copy has heartbeated a checkpoint, then kill the worker outright.
  const mailbox = session.client.workflow.getHandle(mailboxWorkflowId(org, big.address));
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error('the copy never heartbeated a checkpoint');
    const desc = await mailbox.describe().catch(() => undefined);
    const pending = desc?.raw.pendingActivities?.find((a) => a.activityType?.name === 'copyMail');
    if (pending?.heartbeatDetails?.payloads?.length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  workers[0].child.kill('SIGKILL');
  await workers[0].stop();
  workers.push(await startWorker());

  const result = await batchResult(session, org, batch);
  expect(result.completed).toBe(2);
  const status = await session.client.workflow.getHandle(batchWorkflowId(org, batch)).query(batchStatusQuery);
  const row = status.rows.find((r) => r.address === big.address)!;
  // The retry started from the checkpoint: it did not re-send what was done before it (that counts as already
  // there), and the row's totals still account for every message.
  expect(row.copy!.messagesCopied).toBeLessThan(2000);
  expect(row.copy!.messagesCopied).toBeGreaterThan(0);
  expect(row.copy!.messagesCopied + row.copy!.messagesExisting).toBe(2000);

  for (const u of [big, small]) {
    const { source, target } = labEndpoints(info, u.address);
    const report = await verifyMailbox(source, target);
    expect(report.findings).toEqual([]);
  }
}, 400_000);
