/**
 * What the copy could not bring over, end to end through batches on a real
 * worker: the target's contacts and calendars server sits behind a relay that
 * refuses items over a size limit (as hosted targets do), so the Migration
 * Complete report must list exactly what it refused (BadItems.csv), keep
 * listing it across passes, show what a failed row copied before it failed,
 * and resume the contacts and calendars copy from the record's checkpoint in
 * a later batch. The copy rules (folders, renames, size) are set on the
 * organisation and the batch and really change what lands on the target.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { verifyDav, type DavEndpoint } from '../connectors/dav';
import { closeImap, openImap } from '../connectors/mail/connect';
import type { ImapEndpoint } from '../connectors/mail/types';
import { readLabInfo, type LabInfo } from '../lab/info';
import { CORPUS_COLLECTIONS, loadCorpus } from '../lab/seed/corpus';
import { labEndpoints, verifyMailbox } from '../lab/verify';
import type { Session } from '../client/connection';
import { startBatch } from '../client/batch';
import { orgState } from '../client/org';
import { applySettings, buildSettings, copyRulesOf, redactSettings } from '../client/settings';
import { copyRulesFromFlags, parseCopyRules } from '../shared/copyRules';
import { badItemCount, mergeBadItems, type BadItemEntry, type BatchResult } from '../workflows/definitions';
import {
  batchResult,
  csvOf,
  csvSourceOf,
  labEnv,
  labOrganisation,
  runBatch,
  startWorker,
  testSession,
  TestUsers,
  uniqueName,
  type WorkerProcess,
} from './helpers/backbone';
import { startDavRelay, type DavRelay } from './helpers/davRelay';
import { readSinkMessages } from './helpers/smtpSink';

jest.setTimeout(900_000);

/** the relay's item size limit: the corpus holds contacts with photos above it */
const LIMIT = 20_000;

let info: LabInfo;
let session: Session;
let worker: WorkerProcess;
let users: TestUsers;
let relay: DavRelay;

const davOf = (side: 'onprem' | 'cloud'): DavEndpoint => ({ url: info[side].dav.url, user: info[side].dav.admin.user, password: info[side].dav.admin.password });

beforeAll(async () => {
  info = readLabInfo();
  relay = await startDavRelay(info.cloud.dav.url, LIMIT);
  session = await testSession();
  // the worker's target for contacts and calendars is the relay
  worker = await startWorker({ ...labEnv(info), MAILFERRY_CLOUD_DAV_URL: relay.url });
  users = new TestUsers(info);
}, 180_000);

afterAll(async () => {
  if (process.env.MF_DEBUG === '1') console.log(worker?.output().slice(-5000));
  await worker?.stop();
  await users?.cleanup();
  await session?.close();
  await relay?.close();
});

type CsvRow = Record<string, string>;

function report(result: BatchResult, name: string): CsvRow[] {
  const path = result.reports.find((p) => p.endsWith(`/migrationComplete/${name}`));
  return path ? (parse(readFileSync(path, 'utf8'), { columns: true, bom: true }) as CsvRow[]) : [];
}

const rowOf = (result: BatchResult, address: string) => report(result, 'MigrationComplete.csv').find((r) => r.EmailAddress === address);
const badOf = (result: BatchResult, address: string) => report(result, 'BadItems.csv').filter((r) => r.EmailAddress === address);

async function runOne(org: string, source: Parameters<typeof runBatch>[2], copyRules?: ReturnType<typeof copyRulesOf>) {
  const { batch } = await startBatch(session, org, { startedBy: 'jest', notify: [], source, copyRules });
  return batchResult(session, org, batch);
}

/** message count and sizes per folder of one side of a mailbox */
async function folderSizes(endpoint: ImapEndpoint): Promise<Map<string, number[]>> {
  const client = await openImap(endpoint);
  try {
    const out = new Map<string, number[]>();
    for (const box of await client.list()) {
      if (box.flags.has('\\Noselect')) continue;
      const lock = await client.getMailboxLock(box.path, { readOnly: true });
      try {
        const sizes: number[] = [];
        if ((client.mailbox as { exists: number }).exists > 0) for await (const m of client.fetch('1:*', { size: true })) sizes.push(m.size ?? 0);
        out.set(box.path, sizes);
      } finally {
        lock.release();
      }
    }
    return out;
  } finally {
    await closeImap(client);
  }
}

test('one mailbox with the real-world corpus and 3,000 messages completes in one batch; its report lists exactly the refused items', async () => {
  const u = await users.add('bi-corpus', { messages: 3_000, contacts: 0, events: 0 });
  const load = await loadCorpus(davOf('onprem'), u.address);
  const loaded = load.calendar.loaded.length + load.addressbook.loaded.length;
  relay.maxItemBytes = LIMIT;
  const refusedBefore = relay.refusedUids.length;
  const org = await labOrganisation(session, 'bi-corpus');
  const result = await runOne(org, csvSourceOf(session, org, csvOf([[u.address, '', 'False']])));
  expect(result).toMatchObject({ completed: 1, failed: 0 });

  const refused = relay.refusedUids.slice(refusedBefore);
  const bad = badOf(result, u.address);
  const row = rowOf(result, u.address)!;
  console.log(
    `corpus batch (plain Dovecot, DAV relay limit ${LIMIT} B): ${row.MessagesCopied} messages copied, ${Number(row.ContactsCopied) + Number(row.EventsCopied)} of ${loaded} items copied, ${bad.length} bad items listed, the target refused ${refused.length}`,
  );
  expect(refused.length).toBeGreaterThanOrEqual(1);
  expect(bad.map((b) => b.Uid).sort()).toEqual([...refused].sort());
  for (const b of bad) {
    expect(b).toMatchObject({ Kind: 'contact', Where: CORPUS_COLLECTIONS.addressbook });
    expect(b.Reason).toMatch(/^413 /);
    expect(b.Subject).not.toBe('');
  }
  expect(row).toMatchObject({ State: 'completed', ItemsSkipped: String(refused.length) });
  expect(Number(row.ContactsCopied) + Number(row.EventsCopied) + refused.length).toBe(loaded);

  const mail = await verifyMailbox(labEndpoints(info, u.address).source, labEndpoints(info, u.address).target);
  expect(mail).toMatchObject({ missing: 0, extra: 0, different: 0 });
  expect(Number(row.MessagesCopied)).toBe(mail.folders.reduce((n, f) => n + f.sourceMessages, 0));
  const gap = await verifyDav(davOf('onprem'), davOf('cloud'), u.address);
  expect(gap.events).toEqual({ missing: [], extra: [] });
  expect(gap.contacts.missing.sort()).toEqual([...refused].sort());
});

test('a row whose mail copied and whose calendar copy failed reports its messages; a later batch resumes the calendar from the record and keeps listing the bad items', async () => {
  const events = 60;
  const u = await users.add('bi-fail', { messages: 40, contacts: 0, events });
  const org = await labOrganisation(session, 'bi-fail');
  // every event refused: past the bad-item limit (50) the copy fails with BAD_ITEM_LIMIT
  relay.maxItemBytes = 1;
  const first = await runOne(org, csvSourceOf(session, org, csvOf([[u.address, '', 'False']])));
  expect(first).toMatchObject({ failed: 1, completed: 0 });
  const failedRow = rowOf(first, u.address)!;
  const firstBad = badOf(first, u.address);
  console.log(`failed row: ${JSON.stringify(failedRow)}; ${firstBad.length} bad items listed`);
  expect(failedRow).toMatchObject({ State: 'failed', MessagesCopied: '40', EventsCopied: '0', ItemsSkipped: '51' });
  expect(firstBad).toHaveLength(51);
  for (const b of firstBad) expect(b).toMatchObject({ Kind: 'event', Where: 'calendar', Reason: expect.stringMatching(/^413 /) });
  expect(report(first, 'ErrorReport.csv').find((r) => r.EmailAddress === u.address)).toMatchObject({ Code: 'BAD_ITEM_LIMIT' });

  // the target takes everything now; the resumed copy goes on after the last item the failed run handled
  relay.maxItemBytes = Number.POSITIVE_INFINITY;
  const putsBefore = relay.puts.length;
  const second = await runOne(org, { kind: 'resume', mailboxes: [u.address] });
  const puts = relay.puts.length - putsBefore;
  const row = rowOf(second, u.address)!;
  console.log(`resumed in batch ${second.batch}: ${puts} PUTs; ${JSON.stringify(row)}`);
  expect(second).toMatchObject({ completed: 1 });
  // the item refused at the limit is handled again (the checkpoint stood before it), the 50 before it are not
  expect(puts).toBe(events - 50);
  // the 50 refused by the failed run are still listed (the item the limit stopped at was copied now)
  const secondBad = badOf(second, u.address).map((b) => b.Uid);
  expect(row).toMatchObject({ State: 'completed', MessagesCopied: '40', EventsCopied: String(events - 50), ItemsSkipped: '50' });
  expect(secondBad).toHaveLength(50);
  expect(firstBad.map((b) => b.Uid)).toEqual(expect.arrayContaining(secondBad));

  // a delta pass reads every collection again (the finished copy left no checkpoint): it copies the 50 the target
  // refused before and takes now, each once, and they drop off the list
  const putsBeforeSync = relay.puts.length;
  const sync = await runOne(org, { kind: 'sync', batch: second.batch });
  expect(sync).toMatchObject({ completed: 1 });
  expect(relay.puts.slice(putsBeforeSync).sort()).toEqual([...secondBad].sort());
  expect(badOf(sync, u.address)).toEqual([]);
  expect(rowOf(sync, u.address)).toMatchObject({ MessagesCopied: '40', EventsCopied: String(events), ItemsSkipped: '0' });
  expect(await verifyDav(davOf('onprem'), davOf('cloud'), u.address)).toEqual({ contacts: { missing: [], extra: [] }, events: { missing: [], extra: [] } });
});

test('copy rules of the organisation and of the batch leave out and rename folders and leave out large messages', async () => {
  const u = await users.add('bi-rules', { messages: 150, contacts: 0, events: 0 });
  const org = uniqueName('bi-rules');
  const maxBytes = 8 * 1024;
  await applySettings(session, org, buildSettings({ lab: true, excludeFolder: ['Archive/2019'], maxMessageSize: '8KB' }, session, org));
  const saved = (await orgState(session.client, org)).settings!;
  expect(saved.copyRules).toEqual({ excludeFolders: ['Archive/2019'], maxMessageBytes: maxBytes });
  expect((redactSettings(saved) as { copyRulesInWords: string[] }).copyRulesInWords).toEqual([
    'folders left out: Archive/2019',
    `messages larger than ${maxBytes} bytes left out`,
  ]);

  const since = new Date();
  const result = await runOne(org, csvSourceOf(session, org, csvOf([[u.address, '', 'False']])), copyRulesOf({ renameFolder: ['Réunions=Meetings'] }));
  expect(result).toMatchObject({ completed: 1 });
  const { source, target } = labEndpoints(info, u.address);
  const [from, to] = [await folderSizes(source), await folderSizes(target)];
  const small = (path: string) => (from.get(path) ?? []).filter((s) => s <= maxBytes).length;
  const large = [...from].filter(([p]) => p !== 'Archive/2019').reduce((n, [, sizes]) => n + sizes.filter((s) => s > maxBytes).length, 0);
  console.log(`rules: source ${JSON.stringify(Object.fromEntries([...from].map(([p, s]) => [p, s.length])))}; target ${JSON.stringify(Object.fromEntries([...to].map(([p, s]) => [p, s.length])))}; ${large} over ${maxBytes} B`);
  expect((from.get('Archive/2019') ?? []).length).toBeGreaterThan(0);
  expect((from.get('Réunions') ?? []).length).toBeGreaterThan(0);
  expect(large).toBeGreaterThan(0);
  expect(to.has('Archive/2019')).toBe(false);
  expect(to.has('Réunions')).toBe(false);
  expect(to.get('Meetings')).toHaveLength(small('Réunions'));
  expect(to.get('INBOX')).toHaveLength(small('INBOX'));
  expect(Math.max(...[...to.values()].flat())).toBeLessThanOrEqual(maxBytes);
  expect(rowOf(result, u.address)).toMatchObject({ State: 'completed', MessagesLeftOutByRules: String(large) });

  const mails = await readSinkMessages(info, { since, subject: `${org} batch ${result.batch}` });
  const complete = mails.find((m) => m.mail.subject?.includes('Migration Complete'));
  expect(complete?.mail.text).toContain(
    `Copy rules: folders left out: Archive/2019; folder Réunions copied as Meetings; messages larger than ${maxBytes} bytes left out`,
  );
});

test('the bad-item list keeps each item once, lists up to its cap and counts the rest', () => {
  const message = (uid: number): BadItemEntry => ({ kind: 'message', folder: 'INBOX', uid, date: null, subject: `m${uid}`, reason: 'refused' });
  const event = (uid: string): BadItemEntry => ({ kind: 'event', collection: 'calendar', uid, summary: uid, answer: '413 Too Large' });
  const first = mergeBadItems(undefined, [message(1), message(2), event('a')], { listed: 2 });
  expect(first.items.map((i) => i.uid)).toEqual([1, 2]);
  expect(first.more).toBe(1);
  // a later pass (or a repeated signal) meeting the same items adds nothing; new ones join
  const again = mergeBadItems(first, [message(1), event('a'), message(3)], { listed: 2 });
  expect(again.more).toBe(2);
  expect(badItemCount(again)).toBe(4);
  // a finished contacts and calendars copy replaces the contacts and events, messages stay
  const settled = mergeBadItems(again, [event('b')], { listed: 2, davSettled: true });
  expect(badItemCount(settled)).toBe(4);
  expect(settled.items.map((i) => i.uid)).toEqual([1, 2]);
});

test('bad copy rules are refused with the flag and what to write', () => {
  expect(copyRulesFromFlags({}).rules).toBeUndefined();
  expect(copyRulesFromFlags({ renameFolder: ['Sent Items'] }).errors).toEqual(['--rename-folder "Sent Items": expected FROM=TO, e.g. "Sent Items=Sent"']);
  expect(copyRulesFromFlags({ maxAgeDays: '0' }).errors).toEqual(['--max-age-days: at least 1 day']);
  expect(copyRulesFromFlags({ maxMessageSize: 'big' }).errors[0]).toMatch(/^--max-message-size/);
  expect(copyRulesFromFlags({ excludeFolder: ['/Archive'] }).errors[0]).toMatch(/^--exclude-folder: levels are joined/);
  expect(copyRulesFromFlags({ maxMessageSize: '25MB', maxAgeDays: '365' }).rules).toEqual({ maxMessageBytes: 25 * 1024 * 1024, maxAgeDays: 365 });
  expect(() => parseCopyRules({ maxAgeDays: -1 })).toThrow(/copy rules are not valid: maxAgeDays: at least 1 day/);
  expect(() => parseCopyRules({ excludeFolder: ['x'] })).toThrow(/copy rules are not valid/);
});
