/**
 * What a row costs in history (issue 15): a mailbox run writes a search
 * attribute only when its value changes, its record write runs as a local
 * activity (a marker, no activity task), the provisioning steps are one
 * activity task, and a mailbox with no contact and no event (its address
 * book and calendar empty) has no contacts/calendar activity. Its record
 * takes two outcomes and no patch marker; the previous TargetAddress is
 * remembered before the write only when there is one to keep.
 */
import { temporal } from '@temporalio/proto';
import { createSourceDirectory } from '../connectors/directory';
import { readLabInfo } from '../lab/info';
import type { Session } from '../client/connection';
import { mailboxWorkflowId, recordQuery, recordWorkflowId } from '../workflows/definitions';
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

const EventType = temporal.api.enums.v1.EventType;

test("a row's record: started by the provisioning outcome with its memo and attributes, then the copy's outcome, no patch marker; an update before the write only for a TargetAddress to keep", async () => {
  const info = readLabInfo();
  const plain = await users.add('hist-rec', { messages: 1, contacts: 0, events: 0 });
  const forwarded = await users.add('hist-fwd', { messages: 1, contacts: 0, events: 0 });
  const before = `SMTP:${forwarded.address.split('@')[0]}@old-relay.tailspintoys.com`;
  const source = createSourceDirectory(info.onprem.ldap);
  try {
    await source.restoreTargetAddress(forwarded.address, before);
  } finally {
    await source.close();
  }
  const org = await labOrganisation(session, 'hist-rec', 2);
  const rows = [plain, forwarded].map((u): [string, string, string] => [u.address, '', 'False']);
  const { batch } = await runBatch(session, org, csvSourceOf(session, org, csvOf(rows)));
  expect(await batchResult(session, org, batch)).toMatchObject({ completed: 2, failed: 0 });

  const historyOf = async (address: string) => (await session.client.workflow.getHandle(recordWorkflowId(org, address)).fetchHistory()).events ?? [];
  const name = (e: temporal.api.history.v1.IHistoryEvent) => EventType[e.eventType ?? 0].replace('EVENT_TYPE_', '');
  // no TargetAddress to keep: no update; the first task publishes nothing (the start carried the outcome's memo and attributes)
  expect((await historyOf(plain.address)).map(name)).toEqual([
    'WORKFLOW_EXECUTION_STARTED',
    'WORKFLOW_EXECUTION_SIGNALED',
    'WORKFLOW_TASK_SCHEDULED',
    'WORKFLOW_TASK_STARTED',
    'WORKFLOW_TASK_COMPLETED',
    'WORKFLOW_EXECUTION_SIGNALED',
    'WORKFLOW_TASK_SCHEDULED',
    'WORKFLOW_TASK_STARTED',
    'WORKFLOW_TASK_COMPLETED',
    'WORKFLOW_PROPERTIES_MODIFIED',
    'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
  ]);
  // a TargetAddress to keep: the record is started by the update that keeps it, before the provisioning outcome
  const kept = (await historyOf(forwarded.address)).map(name);
  expect(kept.filter((n) => n.startsWith('WORKFLOW_EXECUTION_UPDATE') || n === 'MARKER_RECORDED' || n === 'WORKFLOW_EXECUTION_SIGNALED')).toEqual([
    'WORKFLOW_EXECUTION_UPDATE_ACCEPTED',
    'WORKFLOW_EXECUTION_UPDATE_COMPLETED',
    'WORKFLOW_EXECUTION_SIGNALED',
    'WORKFLOW_EXECUTION_SIGNALED',
  ]);
  const record = await session.client.workflow.getHandle(recordWorkflowId(org, forwarded.address)).query(recordQuery);
  expect(record.previousTargetAddress).toBe(before);
  const plainRecord = await session.client.workflow.getHandle(recordWorkflowId(org, plain.address)).query(recordQuery);
  expect(plainRecord.previousTargetAddress).toBeNull();
}, 300_000);
