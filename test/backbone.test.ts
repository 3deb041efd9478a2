/**
 * The Temporal backbone end to end: a real dev server, a real worker process,
 * the lab's servers. Each test has its own organisation and its own lab users.
 */
import { readLabInfo, type LabInfo } from '../lab/info';
import { verifyMailbox, labEndpoints } from '../lab/verify';
import { createSourceDirectory, createCloudDirectory } from '../connectors/directory';
import { verifyDav } from '../connectors/dav';
import type { Session } from '../client/connection';
import { stopBatch } from '../client/batch';
import { batchStatusQuery, batchWorkflowId, mailboxWorkflowId, type BatchStatus } from '../workflows/definitions';
import { readSinkMessages } from './helpers/smtpSink';
import { LAB_ROUTING_DOMAIN } from '../lab/workerEnv';
import {
  batchResult,
  csvOf,
  csvSourceOf,
  labOrganisation,
  runBatch,
  startWorker,
  testSession,
  TestUsers,
  addCloudMeu,
  targetAddressOf,
  type WorkerProcess,
  waitFor,
} from './helpers/backbone';

let info: LabInfo;
let session: Session;
let worker: WorkerProcess;
let users: TestUsers;

beforeAll(async () => {
  info = readLabInfo();
  session = await testSession();
  worker = await startWorker();
  users = new TestUsers(info);
}, 120_000);

afterAll(async () => {
  if (process.env.MF_DEBUG === '1') console.log(worker?.output().slice(-5000));
  await worker?.stop();
  await users?.cleanup();
  await session?.close();
});

function sourceDirectory() {
  const o = info.onprem.ldap;
  return createSourceDirectory({ url: o.url, suffix: o.suffix, bindDn: o.bindDn, password: o.password, caFile: o.caFile });
}

function cloudDirectory() {
  const c = info.cloud.ldap;
  return createCloudDirectory({ url: c.url, suffix: c.suffix, bindDn: c.bindDn, password: c.password, routingDomain: LAB_ROUTING_DOMAIN });
}

async function status(org: string, batch: number): Promise<BatchStatus> {
  return session.client.workflow.getHandle(batchWorkflowId(org, batch)).query(batchStatusQuery);
}

test('a CSV batch provisions, forwards and copies every valid row, reports by e-mail, and rejects invalid rows', async () => {
  const since = new Date(Date.now() - 1000);
  const a = await users.add('bb-a', { messages: 40, contacts: 4, events: 3 });
  const b = await users.add('bb-b', { messages: 25 });
  const um = await users.add('bb-um', { kind: 'um-enabled', messages: 2 });
  const org = await labOrganisation(session, 'bb-happy', 2);
  const csv = csvOf([
    [a.address, 'Cloud!Pass1a', 'False'],
    [b.address, '', 'True'],
    [um.address, 'Cloud!Pass1c', 'False'],
    ['nobody@legacy-contoso.test', 'Cloud!Pass1d', 'False'],
    ['not-an-address', '', 'False'],
    [a.address.toUpperCase(), '', 'False'],
  ]);
  const { batch } = await runBatch(session, org, csvSourceOf(session, org, csv, 'happy.csv'), ['helpdesk@tailspintoys.com']);
  const result = await batchResult(session, org, batch);

  expect(result.phase).toBe('completed');
  expect(result.total).toBe(2);
  expect(result.completed).toBe(2);
  expect(result.failed).toBe(0);
  expect(result.rejected).toBe(4);

  const s = await status(org, batch);
  expect(s.rejected.map((r) => [r.line, r.code])).toEqual([
    [4, 'UM_ENABLED'],
    [5, 'DOMAIN_NOT_ACCEPTED'],
    [6, 'BAD_ADDRESS'],
    [7, 'DUPLICATE_ADDRESS'],
  ]);

  for (const u of [a, b]) {
    expect(await targetAddressOf(info, u.address)).toBe(`SMTP:${u.address.split('@')[0]}@${LAB_ROUTING_DOMAIN}`);
    const { source, target } = labEndpoints(info, u.address);
    const report = await verifyMailbox(source, target);
    expect(report.findings).toEqual([]);
    expect(report.equal).toBe(true);
    const dav = await verifyDav(
      { url: info.onprem.dav.url, user: info.onprem.dav.admin.user, password: info.onprem.dav.admin.password },
      { url: info.cloud.dav.url, user: info.cloud.dav.admin.user, password: info.cloud.dav.admin.password },
      u.address,
    );
    expect(dav).toEqual({ contacts: { missing: [], extra: [] }, events: { missing: [], extra: [] } });
  }
  const cloud = cloudDirectory();
  try {
    expect((await cloud.findRecipient(a.address))?.recipientType).toBe('UserMailbox');
    expect((await cloud.findRecipient(b.address))?.forceChangePassword).toBe(true);
  } finally {
    await cloud.close();
  }
  expect(result.messagesCopied).toBe(40 + 25);

  // the e-mails go out from workflows of their own, just after the batch wrote the reports
  const mails = await waitFor('both report e-mails', async () => {
    const found = await readSinkMessages(info, { since, subject: `${org} batch ${batch}` });
    return found.length >= 2 && found;
  });
  const ready = mails.find((m) => m.mail.subject?.includes('Mailboxes Ready'));
  const complete = mails.find((m) => m.mail.subject?.includes('Migration Complete'));
  expect(ready).toBeDefined();
  expect(complete).toBeDefined();
  expect(ready!.mail.to).toBeDefined();
  const readyNames = ready!.mail.attachments.map((x) => x.filename).sort();
  expect(readyNames).toEqual(['MailboxesReady.csv', 'ValidationReport.csv']);
  const readyCsv = ready!.mail.attachments.find((x) => x.filename === 'MailboxesReady.csv')!.content.toString();
  expect(readyCsv).toContain(a.address);
  expect(readyCsv).toContain(b.address);
  const validation = ready!.mail.attachments.find((x) => x.filename === 'ValidationReport.csv')!.content.toString();
  expect(validation).toContain('UM_ENABLED');
  expect(validation).toMatch(/^6,\(not shown: 14 characters\),BAD_ADDRESS/m);
  const completeCsv = complete!.mail.attachments.find((x) => x.filename === 'MigrationComplete.csv')!.content.toString();
  expect(completeCsv).toMatch(new RegExp(`${a.address},completed,40,`));
});

test('the concurrency cap is never exceeded, as observed on the server', async () => {
  const rows = [];
  for (let i = 0; i < 5; i++) rows.push(await users.add(`bb-cap${i}`, { messages: 60, contacts: 1, events: 1 }));
  const org = await labOrganisation(session, 'bb-cap', 2);
  const { batch } = await runBatch(session, org, csvSourceOf(session, org, csvOf(rows.map((u) => [u.address, '', 'False']))));
  const query = `MailferryOrg = "${org}" AND WorkflowType = "mailboxWorkflow" AND ExecutionStatus = "Running"`;
  let maxRunning = 0;
  let samples = 0;
  const handle = session.client.workflow.getHandle(batchWorkflowId(org, batch));
  for (;;) {
    const desc = await handle.describe();
    const { count } = await session.client.workflow.count(query);
    maxRunning = Math.max(maxRunning, count);
    samples++;
    if (desc.status.name !== 'RUNNING') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const result = await batchResult(session, org, batch);
  expect(result.completed).toBe(5);
  expect(samples).toBeGreaterThan(5);
  expect(maxRunning).toBeLessThanOrEqual(2);
  expect(maxRunning).toBe(2);
});

test('stop cancels in-flight rows now, keeps provisioned rows, and reports waiting rows', async () => {
  const since = new Date(Date.now() - 1000);
  const rows = [];
  for (let i = 0; i < 4; i++) rows.push(await users.add(`bb-stop${i}`, { messages: 400, largeMessages: i === 0 ? 1 : 0 }));
  const org = await labOrganisation(session, 'bb-stop', 1);
  const { batch } = await runBatch(session, org, csvSourceOf(session, org, csvOf(rows.map((u) => [u.address, '', 'False']))));
  // stop while the first row is provisioning or copying and the others wait
  await waitFor('a row in flight', async () => (await status(org, batch)).active === 1);
  await stopBatch(session, org, 'jest', batch);
  const result = await batchResult(session, org, batch);
  expect(result.phase).toBe('stopped');
  const s = await status(org, batch);
  const states = s.rows.map((r) => r.state);
  expect(states.filter((x) => x === 'stopped').length).toBeGreaterThanOrEqual(3);
  expect(states.filter((x) => x === 'completed').length).toBe(0);
  const waiting = s.rows.filter((r) => r.error?.code === 'NOT_STARTED');
  expect(waiting.length).toBeGreaterThanOrEqual(2);
  const mail = await waitFor(
    'the stop e-mail',
    async () => (await readSinkMessages(info, { since, subject: `Batch stopped: ${org} batch ${batch}` }))[0],
  );
  const errors = mail.mail.attachments.find((x) => x.filename === 'ErrorReport.csv')!.content.toString();
  for (const w of waiting) expect(errors).toContain(w.address);
  expect(mail.mail.attachments.map((x) => x.filename)).toContain('MailboxesReady.csv');
});

test('re-running a CSV: migrated rows only reset TargetAddress, failed rows resume at the failed step, new rows run everything', async () => {
  const migrated = await users.add('bb-mig', { messages: 20 });
  const failing = await users.add('bb-nomeu', { kind: 'no-meu', messages: 15 });
  const org = await labOrganisation(session, 'bb-rerun', 2);
  const first = await runBatch(
    session,
    org,
    csvSourceOf(
      session,
      org,
      csvOf([
        [migrated.address, '', 'False'],
        [failing.address, 'Cloud!Pass1x', 'False'],
      ]),
    ),
  );
  const r1 = await batchResult(session, org, first.batch);
  expect(r1.completed).toBe(1);
  expect(r1.failed).toBe(1);
  const s1 = await status(org, first.batch);
  const failedRow = s1.rows.find((r) => r.address === failing.address)!;
  expect(failedRow.step).toBe('verifyMeu');
  expect(failedRow.error?.code).toBe('MEU_NOT_FOUND');
  expect(failedRow.error?.fix).toMatch(/directory synchronisation/);

  // The admin fixes the cause (directory sync creates the MEU), an on-prem admin clears forwarding, a new user joins.
  const fresh = await users.add('bb-new', { messages: 10 });
  await addCloudMeu(info, failing.address);
  const dir = sourceDirectory();
  await dir.restoreTargetAddress(migrated.address, null);
  await dir.close();
  expect(await targetAddressOf(info, migrated.address)).toBeNull();

  const second = await runBatch(
    session,
    org,
    csvSourceOf(
      session,
      org,
      csvOf([
        [migrated.address, '', 'False'],
        [failing.address, 'Cloud!Pass1x', 'False'],
        [fresh.address, '', 'False'],
      ]),
    ),
  );
  const r2 = await batchResult(session, org, second.batch);
  expect(r2.failed).toBe(0);
  const s2 = await status(org, second.batch);
  const plan = Object.fromEntries(s2.rows.map((r) => [r.address, r.plan]));
  expect(plan[migrated.address]).toEqual({ kind: 'resetTargetAddress' });
  expect(plan[failing.address]).toMatchObject({ kind: 'resume', from: 'verifyMeu' });
  expect(plan[fresh.address]).toEqual({ kind: 'new' });

  expect(await targetAddressOf(info, migrated.address)).not.toBeNull();
  const rows = Object.fromEntries(s2.rows.map((r) => [r.address, r]));
  // the migrated row copied nothing again: its totals are those of the first batch
  expect(rows[migrated.address].copy?.messagesCopied).toBe(20);
  expect(rows[failing.address].state).toBe('completed');
  expect(rows[fresh.address].copy?.messagesCopied).toBe(10);
  // the reset run of the migrated mailbox did no copy step
  const last = await session.client.workflow.getHandle(mailboxWorkflowId(org, migrated.address)).describe();
  expect(last.memo?.summary).toContain('resetTargetAddress');
});
