/**
 * Replayed ciphertext is not a key either (issue 11, the workflow side),
 * against the real dev server, a real worker process and the lab. Someone
 * with access to the namespace cannot encrypt, but can copy mailferry's own
 * encrypted payloads out of history and send them again: as another
 * organisation's start, another mailbox's run or record, a "batch finished"
 * nudge, settings, or a destructive request. Each is refused with a clear
 * error, and the lab's directories, mailboxes and SMTP sink are unchanged.
 */
import { randomBytes } from 'node:crypto';
import { Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { readLabInfo, type LabInfo } from '../lab/info';
import { labEndpoints } from '../lab/verify';
import { LAB_ROUTING_DOMAIN } from '../lab/workerEnv';
import { createCloudDirectory, createSourceDirectory } from '../connectors/directory';
import { createTemporalLedger } from '../connectors/ledger/temporal';
import { orgState } from '../client/org';
import { startBatch, stopBatch } from '../client/batch';
import { rollbackMailbox } from '../client/finish';
import { ADMIN_TOKEN_KIND } from '../shared/adminPath';
import { dataConverterOptions, loadCodec } from '../shared/codec';
import { MailferryBatch, MailferryMailbox, MailferryOrg, MailferryState } from '../shared/searchAttributes';
import {
  batchStatusQuery,
  batchWorkflowId,
  closeRecordSignal,
  completeMigrationUpdate,
  mailboxWorkflowId,
  recordQuery,
  recordWorkflowId,
  RECORD_WORKFLOW_TYPE,
  rollbackMailboxUpdate,
  stopBatchSignal,
  type RecordSummary,
} from '../workflows/definitions';
import { batchResult, csvOf, csvSourceOf, labOrganisation, runBatch, TestUsers, uniqueName, type TestUser } from './helpers/backbone';
import { folderCounts } from './helpers/imap';
import { batchStatusOf, ownQueue, waitFor, type OwnQueue } from './helpers/operators';
import { readSinkMessages } from './helpers/smtpSink';

let info: LabInfo;
let q: OwnQueue;
let users: TestUsers;
/** sends the next queued ciphertext instead of encoding its argument: what a replayer with access to history can do */
let replayer: Client;
const queued: Payload[][] = [];
/** the victim: an organisation with two migrated mailboxes */
let victim: string;
let a: TestUser;
let c: TestUser;
/** never migrated: what forged records and runs point at */
let b: TestUser;

type Event = Record<string, unknown> & { eventType?: unknown };

async function historyOf(handle: WorkflowHandle): Promise<Event[]> {
  return ((await handle.fetchHistory()).events ?? []) as unknown as Event[];
}
const startInput = (events: Event[]) =>
  (events[0]!.workflowExecutionStartedEventAttributes as { input: { payloads: Payload[] } }).input.payloads;
const signalInputs = (events: Event[], name: string) =>
  events
    .map((e) => e.workflowExecutionSignaledEventAttributes as { signalName: string; input: { payloads: Payload[] } } | undefined)
    .filter((s) => s?.signalName === name)
    .map((s) => s!.input.payloads);
const updateInputs = (events: Event[], name: string) =>
  events
    .map(
      (e) =>
        e.workflowExecutionUpdateAcceptedEventAttributes as
          { acceptedRequest: { input: { name: string; args: { payloads: Payload[] } } } } | undefined,
    )
    .filter((u) => u?.acceptedRequest.input.name === name)
    .map((u) => u!.acceptedRequest.input.args.payloads);

/** the next call of `replayer` sends `payloads`, byte for byte */
function replay<T>(payloads: Payload[], call: () => Promise<T>): Promise<T> {
  queued.push(payloads);
  return call();
}

/** What the lab holds for the three mailboxes: both directories, the cloud mailboxes, the SMTP sink. */
async function labSnapshot(): Promise<unknown> {
  const o = info.onprem.ldap;
  const cl = info.cloud.ldap;
  const source = createSourceDirectory({ url: o.url, suffix: o.suffix, bindDn: o.bindDn, password: o.password, caFile: o.caFile });
  const cloud = createCloudDirectory({
    url: cl.url,
    suffix: cl.suffix,
    bindDn: cl.bindDn,
    password: cl.password,
    routingDomain: LAB_ROUTING_DOMAIN,
  });
  try {
    const out: Record<string, unknown> = { sink: (await readSinkMessages(info)).length };
    for (const u of [a, b, c]) {
      out[u.address] = {
        source: await source.findMailbox(u.address),
        cloud: await cloud.findRecipient(u.address),
        mailbox: await folderCounts(labEndpoints(info, u.address).target).catch((e: Error) => e.message),
      };
    }
    return out;
  } finally {
    await Promise.all([source.close(), cloud.close()]);
  }
}

async function refusedStart(workflowId: string): Promise<WorkflowFailedError> {
  const failure = (await q.session.client.workflow
    .getHandle(workflowId)
    .result()
    .catch((e: unknown) => e)) as WorkflowFailedError;
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  expect(failure.cause).toMatchObject({ type: 'IDENTITY_REFUSED', nonRetryable: true });
  const events = await historyOf(q.session.client.workflow.getHandle(workflowId));
  // failed in its first task: no activity, no child, no retried task
  expect(events.filter((e) => e.activityTaskScheduledEventAttributes || e.startChildWorkflowExecutionInitiatedEventAttributes)).toEqual([]);
  expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
  return failure;
}

beforeAll(async () => {
  info = readLabInfo();
  users = new TestUsers(info);
  q = await ownQueue('sec-replay');
  const { codec } = loadCodec(q.env);
  const replaying: PayloadCodec = {
    encode: async (payloads) => queued.shift() ?? codec.encode(payloads),
    decode: (payloads) => codec.decode(payloads),
  };
  const { connection, options } = q.session.client;
  replayer = new Client({ connection, namespace: options.namespace, dataConverter: dataConverterOptions(replaying) });

  [a, b, c] = [
    await users.add('rp-a', { messages: 2, contacts: 0, events: 0 }),
    await users.add('rp-b', { messages: 2, contacts: 0, events: 0 }),
    await users.add('rp-c', { messages: 2, contacts: 0, events: 0 }),
  ];
  // A forwards somewhere before the batch: its record keeps that value through the update replayed below (a mailbox
  // without a TargetAddress has nothing to keep, and setTargetAddress sends its record no update)
  const source = createSourceDirectory(info.onprem.ldap);
  try {
    await source.setTargetAddress(a.address, `SMTP:before-${a.address}`);
  } finally {
    await source.close();
  }
  victim = await labOrganisation(q.session, 'rp-victim');
  const first = await runBatch(q.session, victim, csvSourceOf(q.session, victim, csvOf([a, c].map((u) => [u.address, '', 'False']))));
  expect((await batchResult(q.session, victim, first.batch)).completed).toBe(2);
}, 240_000);

afterAll(async () => {
  await q?.close();
  await users?.cleanup();
});

test("a real organisation's encrypted start replayed under another ID is refused, and so are its settings in another organisation", async () => {
  const before = await labSnapshot();
  const victimHistory = await historyOf(q.session.client.workflow.getHandle(victim));
  const evil = uniqueName('rp-evil');
  await replay(startInput(victimHistory), () =>
    replayer.workflow.start('organisationWorkflow', { taskQueue: q.session.taskQueue, workflowId: evil, args: [{}] }),
  );
  const failure = await refusedStart(evil);
  expect(failure.cause?.message).toBe(
    `Refused this run of organisationWorkflow (${evil}): its input belongs to ${JSON.stringify(victim)}, not to this workflow ID. Nothing was done. ` +
      'mailferry starts its workflows itself from the CLI; an input copied from another run is not accepted.',
  );

  // the victim's settings (admin e-mail, sealed password) replayed into an organisation of its own
  const other = await labOrganisation(q.session, 'rp-other');
  const otherBefore = await orgState(q.session.client, other);
  const [settingsPayload] = updateInputs(victimHistory, 'setSettings');
  await expect(
    replay(settingsPayload!, () => replayer.workflow.getHandle(other).executeUpdate('setSettings', { args: [{}] })),
  ).rejects.toMatchObject({
    cause: {
      cause: {
        type: 'SEALED_FOR_OTHER_ORG',
        message: expect.stringContaining(`A secret sealed for organisation "${victim}" was given to organisation "${other}"`),
      },
    },
  });
  expect(await orgState(q.session.client, other)).toEqual(otherBefore);
  expect(await labSnapshot()).toEqual(before);
});

test('a mailbox run or record replayed under another mailbox, or started from outside its batch, is refused; a record takes only its own changes', async () => {
  const before = await labSnapshot();
  const runOfA = await historyOf(q.session.client.workflow.getHandle(mailboxWorkflowId(victim, a.address)));
  // A's run (its previous TargetAddress, its settings) as B's: a later rollback of B would restore A's forwarding
  const asB = mailboxWorkflowId(victim, b.address);
  await replay(startInput(runOfA), () =>
    replayer.workflow.start('mailboxWorkflow', { taskQueue: q.session.taskQueue, workflowId: asB, args: [{}] }),
  );
  expect((await refusedStart(asB)).cause?.message).toContain(
    `its input belongs to ${JSON.stringify(mailboxWorkflowId(victim, a.address))}, not to this workflow ID`,
  );
  // A's own run again, from outside its batch (the provision or rollback phase would act on the directory)
  await replay(startInput(runOfA), () =>
    replayer.workflow.start('mailboxWorkflow', {
      taskQueue: q.session.taskQueue,
      workflowId: mailboxWorkflowId(victim, a.address),
      args: [{}],
    }),
  );
  expect((await refusedStart(mailboxWorkflowId(victim, a.address))).cause?.message).toContain(
    `it must be started by ${JSON.stringify(batchWorkflowId(victim, 1))}, but was started from outside any workflow`,
  );

  // A's record as B's record
  const recordOfA = q.session.client.workflow.getHandle(recordWorkflowId(victim, a.address));
  const recordHistory = await historyOf(recordOfA);
  const recordAsB = recordWorkflowId(victim, b.address);
  await replay(startInput(recordHistory), () =>
    replayer.workflow.start(RECORD_WORKFLOW_TYPE, { taskQueue: q.session.taskQueue, workflowId: recordAsB, args: [{}] }),
  );
  await refusedStart(recordAsB);

  // A's outcome and A's previous TargetAddress sent to C's record
  const recordOfC = q.session.client.workflow.getHandle(recordWorkflowId(victim, c.address));
  const cBefore = await recordOfC.query(recordQuery);
  const [outcomeOfA] = signalInputs(recordHistory, 'recordOutcome');
  await replay(outcomeOfA!, () => replayer.workflow.getHandle(recordOfC.workflowId).signal('recordOutcome', {}));
  await waitFor(
    'the record to refuse the outcome',
    async () => q.worker.output().includes(`Refused the outcome for ${a.address} sent to the record of ${c.address}`),
    30_000,
  );
  const [previousOfA] = updateInputs(recordHistory, 'rememberPreviousTargetAddress');
  await expect(
    replay(previousOfA!, () =>
      replayer.workflow.getHandle(recordOfC.workflowId).executeUpdate('rememberPreviousTargetAddress', { args: [{}] }),
    ),
  ).rejects.toMatchObject({
    cause: { message: expect.stringContaining(`Refused a previous TargetAddress for ${a.address} sent to the record of ${c.address}`) },
  });
  // Complete Migration's close of A (what a completed organisation's history holds), sent to C's record
  await recordOfC.signal(closeRecordSignal, { by: `Complete Migration of ${victim}`, address: a.address });
  await waitFor(
    'the record to refuse the close',
    async () => q.worker.output().includes(`Refused the close for ${a.address} sent to the record of ${c.address}`),
    30_000,
  );
  expect((await recordOfC.describe()).status.name).toBe('RUNNING');
  expect(await recordOfC.query(recordQuery)).toEqual(cBefore);
  expect(await labSnapshot()).toEqual(before);
});

test('an execution of another type or task queue bearing a record ID is not a record', async () => {
  const forged: RecordSummary = {
    org: victim,
    address: b.address,
    batches: [1],
    outcome: { address: b.address, batch: 1, state: 'completed', lastCompletedStep: 'copyData', forceChangePassword: false },
    runId: 'mallory',
    previousTargetAddress: 'SMTP:mallory@evil.test',
    updatedAt: new Date().toISOString(),
  };
  const plain = new Client({ connection: q.session.client.connection, namespace: q.session.client.options.namespace });
  const fake = await plain.workflow.start(RECORD_WORKFLOW_TYPE, {
    // a queue the namespace user's own worker would serve (none here: nothing answers it)
    taskQueue: `mallory-${randomBytes(3).toString('hex')}`,
    workflowId: recordWorkflowId(victim, b.address),
    args: [{ org: victim, address: b.address }],
    memo: { record: forged },
    typedSearchAttributes: [
      { key: MailferryOrg, value: victim },
      { key: MailferryMailbox, value: b.address },
      { key: MailferryBatch, value: 1 },
      { key: MailferryState, value: 'completed' },
    ],
  });
  try {
    // visible to a plain list: the forgery is in place
    await waitFor('the forged record to be listed', async () => {
      const listed = plain.workflow.list({ query: `WorkflowId = "${fake.workflowId}" AND ExecutionStatus = "Running"` });
      return (await listed[Symbol.asyncIterator]().next()).done === false;
    });
    const ledger = createTemporalLedger(q.session.client, { taskQueue: q.session.taskQueue, readOnly: true });
    expect((await ledger.mailboxes(victim)).map((r) => r.address)).toEqual([a.address, c.address].sort());
    expect(await ledger.addressesOfBatch(victim, 1, ['completed'])).toEqual([a.address, c.address].sort());
    expect((await ledger.lookup(victim, b.address))?.outcome ?? null).toBeNull();
    // and through the organisation: B was never migrated, so there is nothing to roll back
    await expect(rollbackMailbox(q.session, victim, 'jest', b.address)).rejects.toThrow(
      `${b.address} has never been migrated in ${victim}: nothing to roll back`,
    );
  } finally {
    await fake.terminate('test done');
  }
});

/** B in a batch of `org` that waits an hour for its start time: an active batch that touches nothing meanwhile */
async function waitingBatch(org: string): Promise<number> {
  const { batch } = await startBatch(q.session, org, {
    startedBy: 'jest',
    notify: [],
    source: csvSourceOf(q.session, org, csvOf([[b.address, '', 'False']])),
    startAfter: new Date(Date.now() + 3_600_000).toISOString(),
  });
  await waitFor('the batch to wait for its start time', async () => (await batchStatusOf(q.session, org, batch)).phase === 'scheduled');
  return batch;
}

test('a "batch finished" signal replayed from another organisation frees no slot', async () => {
  const org = await labOrganisation(q.session, 'rp-slot');
  const batch = await waitingBatch(org);
  expect(batch).toBe(1);
  // the victim's batch 1 really finished: its nudge, copied into this organisation whose batch 1 is waiting
  const [finished] = signalInputs(await historyOf(q.session.client.workflow.getHandle(victim)), 'batchFinished');
  await replay(finished!, () => replayer.workflow.getHandle(org).signal('batchFinished', {}));
  await waitFor('the organisation to check the batch', async () => (await orgState(q.session.client, org)).lastReconcile !== undefined);
  const after = await orgState(q.session.client, org);
  expect(after.activeBatch).toBe(batch);
  expect(after.lastReconcile).toMatchObject({ batch, status: 'RUNNING', freed: false });
  await expect(
    startBatch(q.session, org, {
      startedBy: 'mallory',
      notify: [],
      source: csvSourceOf(q.session, org, csvOf([[b.address, '', 'False']])),
    }),
  ).rejects.toThrow(/Batch 1 is still active: only one batch runs at a time/);
  await stopBatch(q.session, org, 'jest', batch);
  expect((await batchResult(q.session, org, batch)).phase).toBe('stopped');
}, 180_000);

test('destructive requests need a fresh admin token: a bare stop, a token for another target, an expired or replayed token do nothing', async () => {
  const org = await labOrganisation(q.session, 'rp-stop');
  const batch = await waitingBatch(org);
  const handle = q.session.client.workflow.getHandle(batchWorkflowId(org, batch));
  const tokenFor = (operation: string, target: string, expiresAt: string) =>
    q.session.secrets.seal(
      org,
      JSON.stringify({ kind: ADMIN_TOKEN_KIND, operation, target, nonce: randomBytes(16).toString('hex'), expiresAt }),
    );
  const soon = new Date(Date.now() + 60_000).toISOString();
  const stops: [string, string][] = [
    ['', `Refused stop of batch ${batch}: the request carries no admin token`],
    [
      tokenFor('stop', `batch ${batch + 1}`, soon),
      `Refused stop of batch ${batch}: its admin token was issued for stop of batch ${batch + 1}`,
    ],
    [tokenFor('completeMigration', 'the organisation', soon), `its admin token was issued for completeMigration of the organisation`],
    [
      tokenFor('stop', `batch ${batch}`, new Date(Date.now() - 1000).toISOString()),
      `Refused stop of batch ${batch}: its admin token expired at`,
    ],
  ];
  for (const [token, why] of stops) {
    await handle.signal(stopBatchSignal, { by: 'mallory', token });
    await waitFor(`the stop to be refused (${why})`, async () => q.worker.output().includes(why), 30_000);
  }
  expect((await handle.query(batchStatusQuery)).phase).toBe('scheduled');
  await expect(
    q.session.client.workflow.getHandle(org).executeUpdate(completeMigrationUpdate, { args: [{ by: 'mallory', token: '' }] }),
  ).rejects.toMatchObject({ cause: { message: expect.stringMatching(/carries no admin token/) } });
  await stopBatch(q.session, org, 'jest', batch);
  expect((await batchResult(q.session, org, batch)).phase).toBe('stopped');

  // a real rollback of A, then A migrated again; the rollback request, replayed from history, does not roll it back again
  expect((await rollbackMailbox(q.session, victim, 'jest', a.address)).state).toBe('rolledBack');
  const since = new Date();
  const again = await runBatch(q.session, victim, csvSourceOf(q.session, victim, csvOf([[a.address, '', 'False']])));
  expect((await batchResult(q.session, victim, again.batch)).completed).toBe(1);
  await waitFor('the e-mails of the re-run', async () => (await readSinkMessages(info, { since, subject: victim })).length >= 2);
  const before = await labSnapshot();
  // the latest: the one of A (an earlier test asked to roll back B, which was refused)
  const rollbackRequest = updateInputs(await historyOf(q.session.client.workflow.getHandle(victim)), 'rollbackMailbox').at(-1);
  const replayInto = (org: string, update: string) =>
    replay(rollbackRequest!, () => replayer.workflow.getHandle(org).executeUpdate(update, { args: [{}] }));
  await expect(replayInto(victim, rollbackMailboxUpdate.name)).rejects.toMatchObject({
    cause: {
      type: 'ADMIN_TOKEN_REFUSED',
      message: expect.stringMatching(
        /^Refused rollback of .*: its admin token was used before \(a request replayed from history\)\. Nothing was done\./,
      ),
    },
  });
  await expect(replayInto(victim, completeMigrationUpdate.name)).rejects.toMatchObject({
    cause: { type: 'ADMIN_TOKEN_REFUSED', message: expect.stringContaining(`its admin token was issued for rollback of ${a.address}`) },
  });
  await expect(replayInto(org, rollbackMailboxUpdate.name)).rejects.toMatchObject({
    cause: {
      type: 'ADMIN_TOKEN_REFUSED',
      message: expect.stringContaining(`A secret sealed for organisation "${victim}" was given to organisation "${org}"`),
    },
  });
  expect((await orgState(q.session.client, victim)).completed).toBe(false);
  expect(await labSnapshot()).toEqual(before);
}, 240_000);

test('state carried over continue-as-new, replayed into a new run of the same ID, is refused', async () => {
  const recordOfC = q.session.client.workflow.getHandle(recordWorkflowId(victim, c.address));
  const first = await recordOfC.describe();
  const { outcome } = await recordOfC.query(recordQuery);
  // enough changes for the record to continue-as-new (workflows/record.ts: CHANGES_PER_RUN)
  const ledger = createTemporalLedger(q.session.client, { taskQueue: q.session.taskQueue });
  for (let i = 0; i < 201; i++) await ledger.record(victim, outcome!, `jest-${i}`);
  const continued = await waitFor('the record to continue as new', async () => {
    const now = await recordOfC.describe();
    return now.runId !== first.runId && now;
  });
  const carried = startInput(await historyOf(q.session.client.workflow.getHandle(recordOfC.workflowId, continued.runId)));
  // terminate stays possible; a new run started with the carried state of the old one is not its continuation
  await recordOfC.terminate('jest: the record is replaced by a replayed one');
  await replay(carried, () =>
    replayer.workflow.start(RECORD_WORKFLOW_TYPE, { taskQueue: q.session.taskQueue, workflowId: recordOfC.workflowId, args: [{}] }),
  );
  expect((await refusedStart(recordOfC.workflowId)).cause?.message).toContain(
    'its input carries the state of an earlier run, which only that run itself hands over (continue-as-new)',
  );
}, 180_000);
