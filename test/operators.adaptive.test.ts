/**
 * Adaptive concurrency, end to end: the worker reaches the cloud IMAP server
 * through a relay that cuts the first copy sessions mid-transfer (what a
 * throttling server does to a client), the copies reconnect and finish, and
 * the batch halves its window in response, never going above the admin's cap.
 */
import { readLabInfo, type LabInfo } from '../lab/info';
import { labEndpoints, verifyMailbox } from '../lab/verify';
import { startBatch } from '../client/batch';
import { batchResult, csvOf, csvSourceOf, labOrganisation, TestUsers, type TestUser } from './helpers/backbone';
import { startDropRelay, type DropRelay } from './helpers/imap';
import { batchStatusOf, ownQueue, type OwnQueue } from './helpers/operators';

let info: LabInfo;
let relay: DropRelay;
let q: OwnQueue;
let users: TestUsers;

beforeAll(async () => {
  info = readLabInfo();
  relay = await startDropRelay(info.cloud.imap.host, info.cloud.imap.port, 300_000, 2);
  q = await ownQueue('adapt', { MAILFERRY_CLOUD_IMAP_HOST: '127.0.0.1', MAILFERRY_CLOUD_IMAP_PORT: String(relay.port) });
  users = new TestUsers(info);
}, 120_000);

afterAll(async () => {
  await q?.close();
  await relay?.close();
  await users?.cleanup();
});

test('copies that had to reconnect halve the window; it never exceeds the admin cap; every message arrives once', async () => {
  const rows: TestUser[] = [];
  for (let i = 0; i < 5; i++) rows.push(await users.add(`ad-${i}`, { messages: 150, contacts: 0, events: 0 }));
  const org = await labOrganisation(q.session, 'adapt', 4);
  const { batch } = await startBatch(q.session, org, {
    startedBy: 'jest',
    notify: [],
    source: csvSourceOf(q.session, org, csvOf(rows.map((u) => [u.address, '', 'False']))),
    adaptive: { quietSeconds: 2 },
  });
  const result = await batchResult(q.session, org, batch);
  expect([result.completed, result.messagesCopied]).toEqual([5, 750]);
  expect(relay.drops).toBeGreaterThanOrEqual(2);

  const s = await batchStatusOf(q.session, org, batch);
  expect(s.adaptive.enabled).toBe(true);
  expect(s.adaptive.adminMax).toBe(4);
  const lowered = s.adaptive.log.filter((e) => e.to < e.from);
  expect(lowered.length).toBeGreaterThanOrEqual(1);
  expect(lowered[0]).toMatchObject({ from: 4, to: 2, reason: expect.stringMatching(/reconnect\(s\) during the copy/) });
  expect(s.adaptive.log.every((e) => e.to >= 1 && e.to <= 4)).toBe(true);
  expect(s.rows.some((r) => (r.copy?.reconnects ?? 0) > 0)).toBe(true);
  for (const r of s.rows.filter((x) => (x.copy?.reconnects ?? 0) > 0)) {
    const { source, target } = labEndpoints(info, r.address);
    expect((await verifyMailbox(source, target)).equal).toBe(true);
  }
}, 300_000);
