/**
 * Batches on a schedule and batches that grow, end to end on the dev server
 * and the lab: `--start-after` is a durable timer `stop` cancels,
 * `--complete-after` copies what arrived while it waited, `batch add` runs
 * only the new rows, and status carries a measured copy rate and an ETA.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { readLabInfo, type LabInfo } from '../lab/info';
import { labEndpoints, verifyMailbox } from '../lab/verify';
import { addRows, startBatch, stopBatch } from '../client/batch';
import { batchResult, csvOf, csvSourceOf, labOrganisation, TestUsers } from './helpers/backbone';
import { appendMessages, rawMessage } from './helpers/imap';
import { batchStatusOf, ownQueue, waitFor, type OwnQueue } from './helpers/operators';

let info: LabInfo;
let q: OwnQueue;
let users: TestUsers;

beforeAll(async () => {
  info = readLabInfo();
  q = await ownQueue('sched');
  users = new TestUsers(info);
}, 120_000);

afterAll(async () => {
  await q?.close();
  await users?.cleanup();
});

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

test('--start-after waits durably and stop cancels the wait; a near start runs', async () => {
  const u = await users.add('sch-start', { messages: 2, contacts: 0, events: 0 });
  const org = await labOrganisation(q.session, 'sch-start', 2);
  const source = csvSourceOf(q.session, org, csvOf([[u.address, '', 'False']]));
  const later = await startBatch(q.session, org, { startedBy: 'jest', notify: [], source, startAfter: inSeconds(3600) });
  expect((await batchStatusOf(q.session, org, later.batch)).phase).toBe('scheduled');
  await stopBatch(q.session, org, 'jest', later.batch);
  const stopped = await batchResult(q.session, org, later.batch);
  expect([stopped.phase, stopped.total, stopped.messagesCopied]).toEqual(['stopped', 0, 0]);

  const soon = await startBatch(q.session, org, { startedBy: 'jest', notify: [], source, startAfter: inSeconds(2) });
  expect((await batchStatusOf(q.session, org, soon.batch)).phase).toBe('scheduled');
  const done = await batchResult(q.session, org, soon.batch);
  expect([done.phase, done.completed, done.messagesCopied]).toEqual(['completed', 1, 2]);
}, 180_000);

test('--complete-after waits after the copy, then copies what arrived meanwhile', async () => {
  const u = await users.add('sch-done', { messages: 4, contacts: 0, events: 0 });
  const org = await labOrganisation(q.session, 'sch-done', 2);
  const { batch } = await startBatch(q.session, org, {
    startedBy: 'jest',
    notify: [],
    source: csvSourceOf(q.session, org, csvOf([[u.address, '', 'False']])),
    completeAfter: inSeconds(25),
  });
  await waitFor('the wait for completion', async () => (await batchStatusOf(q.session, org, batch)).phase === 'awaitingCompletion');
  const { source, target } = labEndpoints(info, u.address);
  await appendMessages(source, 'INBOX', [
    { raw: rawMessage({ subject: 'while waiting 1', messageId: `<wait-1-${u.address}>` }) },
    { raw: rawMessage({ subject: 'while waiting 2', messageId: `<wait-2-${u.address}>` }) },
  ]);
  const result = await batchResult(q.session, org, batch);
  expect([result.phase, result.completed, result.messagesCopied]).toEqual(['completed', 1, 6]);
  expect((await verifyMailbox(source, target)).equal).toBe(true);
}, 180_000);

test("batch add runs only the new rows of a running batch, under the batch's copy rules; status shows the copy rate and an ETA", async () => {
  const first = await users.add('sch-add0', { messages: 150, contacts: 0, events: 0 });
  const second = await users.add('sch-add1', { messages: 20, contacts: 0, events: 0 });
  const third = await users.add('sch-add2', { messages: 20, contacts: 0, events: 0 });
  const org = await labOrganisation(q.session, 'sch-add', 1);
  const { batch } = await startBatch(q.session, org, {
    startedBy: 'jest',
    notify: [],
    source: csvSourceOf(q.session, org, csvOf([[first.address, '', 'False']])),
    // a rule no lab message meets: the rows copy whole, and the batch has rules for `batch add` to name
    copyRules: { maxMessageBytes: 1024 ** 3 },
  });
  await waitFor('the batch to run', async () => (await batchStatusOf(q.session, org, batch)).active === 1);
  const file = join(tmpdir(), `${org}-add.csv`);
  writeFileSync(
    file,
    csvOf([
      [first.address, '', 'False'],
      [second.address, '', 'False'],
      [third.address, '', 'False'],
    ]),
  );
  // rules for some rows only are refused, naming the flag, the batch's rules and what to do instead; nothing is added
  await expect(addRows(q.session, org, file, undefined, { excludeFolder: ['Junk'], maxAgeDays: '30' })).rejects.toThrow(
    `--exclude-folder, --max-age-days: \`batch add\` puts the rows into batch ${batch}, whose copy rules were fixed when it started ` +
      `(messages larger than ${1024 ** 3} bytes left out); its rows and reports all go by them. To copy these rows under other rules, ` +
      `start a batch of their own once batch ${batch} has ended: mailferry batch start --csv ${file} --exclude-folder ... --max-age-days ...`,
  );
  expect((await batchStatusOf(q.session, org, batch)).total).toBe(1);
  const added = await addRows(q.session, org, file);
  expect(added.added).toBe(2);
  expect(added.copyRules).toEqual({ maxMessageBytes: 1024 ** 3 });
  expect(added.rejected.map((r) => [r.address, r.code])).toEqual([[first.address, 'DUPLICATE_ADDRESS']]);
  const eta = await waitFor('an ETA', async () => (await batchStatusOf(q.session, org, batch)).eta ?? undefined);
  expect(eta.secondsLeft).toBeGreaterThan(0);
  expect(eta.basis).toMatch(/mailbox\(es\) left at .* s per mailbox copy/);
  const result = await batchResult(q.session, org, batch);
  expect([result.total, result.completed, result.messagesCopied]).toEqual([3, 3, 190]);
  const s = await batchStatusOf(q.session, org, batch);
  expect(s.copyRate?.messagesPerSecond).toBeGreaterThan(0);
  expect(s.eta).toBeNull();
  // added rows are numbered after the batch's last line (2) plus their line in the added CSV
  expect(s.rows.map((r) => r.line)).toEqual([2, 5, 6]);
}, 180_000);
