/**
 * What a row costs in history (issue 15): a mailbox run writes a search
 * attribute only when its value changes, its record write runs as a local
 * activity (a marker, no activity task), the provisioning steps are one
 * activity task, and a mailbox with no contact and no event (its address
 * book and calendar empty) has no contacts/calendar activity.
 */
import { readLabInfo } from '../lab/info';
import type { Session } from '../client/connection';
import { mailboxWorkflowId } from '../workflows/definitions';
import {
  batchResult,
  csvOf,
  csvSourceOf,
  labOrganisation,
  runBatch,
  startWorker,
  testSession,
  TestUsers,
  waitFor,
  type WorkerProcess,
} from './helpers/backbone';

let session: Session;
let users: TestUsers;
let worker: WorkerProcess;

beforeAll(async () => {
  session = await testSession();
  users = new TestUsers(readLabInfo());
  worker = await startWorker();
});

afterAll(async () => {
  await worker?.stop();
  await users.cleanup();
  await session.close();
});

const text = (p: { data?: Uint8Array | null } | null | undefined) => Buffer.from(p?.data ?? []).toString();

test('a row: no search attribute written twice with the same value; the record as a local activity, provisioning as one activity task, no DAV activity without contacts or events', async () => {
  const user = await users.add('hist', { messages: 2, contacts: 0, events: 0 });
  const org = await labOrganisation(session, 'hist', 1);
  const { batch } = await runBatch(session, org, csvSourceOf(session, org, csvOf([[user.address, '', 'False']])));
  expect(await batchResult(session, org, batch)).toMatchObject({ completed: 1, failed: 0 });

  const id = mailboxWorkflowId(org, user.address);
  // a row runs twice under its workflow ID: provisioning, then the copy
  const runs = await waitFor('both mailbox runs in visibility', async () => {
    const found: string[] = [];
    for await (const wf of session.client.workflow.list({ query: `WorkflowId = '${id}'` })) found.push(wf.runId);
    return found.length === 2 && found;
  });

  const scheduledPerRun: string[][] = [];
  for (const runId of runs) {
    const events = (await session.client.workflow.getHandle(id, runId).fetchHistory()).events ?? [];
    const current = new Map<string, string>();
    const started = events[0]?.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields ?? {};
    for (const [k, v] of Object.entries(started)) current.set(k, text(v));
    const unchanged: string[] = [];
    for (const e of events) {
      const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
      if (!fields) continue;
      for (const [k, v] of Object.entries(fields)) {
        if (current.get(k) === text(v)) unchanged.push(`event ${e.eventId}: ${k} = ${text(v)}`);
        current.set(k, text(v));
      }
    }
    expect(unchanged).toEqual([]);

    scheduledPerRun.push(events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? '').filter(Boolean));
    // each run's record write: a marker
    expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length).toBe(1);
  }
  // provisioning in one activity task; the copy of a mailbox with no contact and no event: mail only
  expect(scheduledPerRun.sort()).toEqual([['copyMail'], ['provisionMailbox']]);
}, 300_000);
