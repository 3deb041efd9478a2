/**
 * The DAV copy against what real targets do: a corpus of real-world exports
 * (Outlook, Apple, Google, Evolution, Thunderbird, Android…) loaded into the
 * source Radicale over HTTP, a target that refuses items over its size limit,
 * a copy killed at a random (seeded, printed) PUT and resumed from its
 * checkpoint, a racing attempt that already placed an item, and a source
 * read in bounded pages (bench/davEvents.ts measures 10,000 events).
 */
import { randomUUID } from 'node:crypto';
import { countDav, createDavCopier, verifyDav, type DavCheckpoint, type DavEndpoint } from '../connectors/dav';
import { DAV_TARGET_CONCURRENCY } from '../connectors/dav/copy';
import { DOMAINS } from '../lab/config';
import { readLabInfo, type LabInfo } from '../lab/info';
import { CORPUS_COLLECTIONS, corpusItems, loadCorpus } from '../lab/seed/corpus';
import { createOrgUser, removeOrgUser } from '../lab/users';
import { killMoment, startDavRelay, type DavRelay } from './helpers/davRelay';
import { errorOf } from './helpers/lab';

jest.setTimeout(600_000);

/** the relay's item size limit: the corpus holds contacts with photos above it */
const LIMIT = 20_000;

let info: LabInfo;
let onprem: DavEndpoint;
let cloud: DavEndpoint;
const created: string[] = [];
const relays: DavRelay[] = [];

const endpoint = (side: 'onprem' | 'cloud'): DavEndpoint => ({ url: info[side].dav.url, user: info[side].dav.admin.user, password: info[side].dav.admin.password });

async function newUser(contacts: number, events: number): Promise<string> {
  const address = `davc-${randomUUID().slice(0, 8)}@${DOMAINS.primary}`;
  await createOrgUser(info, { address, password: 'Onprem-P4ss', kind: 'normal', messages: 0, contacts, events, withMeu: true });
  created.push(address);
  return address;
}

async function relayed(maxItemBytes?: number): Promise<{ relay: DavRelay; target: DavEndpoint }> {
  const relay = await startDavRelay(cloud.url, maxItemBytes);
  relays.push(relay);
  return { relay, target: { ...cloud, url: relay.url } };
}

const noDifference = { contacts: { missing: [], extra: [] }, events: { missing: [], extra: [] } };

beforeAll(() => {
  info = readLabInfo();
  onprem = endpoint('onprem');
  cloud = endpoint('cloud');
});

afterAll(async () => {
  for (const relay of relays) await relay.close();
  for (const address of created) await removeOrgUser(info, address);
});

describe('the real-world corpus', () => {
  it('copies every item the target accepts, UID for UID, and lists the rest as bad items', async () => {
    const address = await newUser(0, 0);
    const load = await loadCorpus(onprem, address);
    const loaded = corpusItems('calendar').filter((i) => load.calendar.loaded.includes(i.uid));
    const clients = new Set([...loaded, ...corpusItems('addressbook').filter((i) => load.addressbook.loaded.includes(i.uid))].map((i) => i.file));
    console.log(`corpus: ${load.calendar.loaded.length} calendar items and ${load.addressbook.loaded.length} contacts loaded from ${clients.size} files; Radicale refused ${load.calendar.refused.length + load.addressbook.refused.length}`);
    expect(load.calendar.loaded.length).toBeGreaterThanOrEqual(10);
    expect(load.addressbook.loaded.length).toBeGreaterThanOrEqual(6);

    const { relay, target } = await relayed(LIMIT);
    const result = await createDavCopier().copyDav(onprem, target, address);
    console.log(`corpus copy: ${JSON.stringify({ contacts: result.contacts, events: result.events, bad: result.badItems.map((b) => `${b.collection}/${b.uid}: ${b.answer.slice(0, 40)}`) })}`);

    // the photos of the Apple address-book export are over the limit: the one thing the target refuses
    expect(result.badItems.length).toBeGreaterThanOrEqual(1);
    expect(result.badItems.length).toBe(relay.refused);
    for (const bad of result.badItems) {
      expect(bad.answer).toMatch(/^413 /);
      expect(bad.collection).toBe(CORPUS_COLLECTIONS.addressbook);
      expect(bad.summary).not.toBe('');
    }
    expect(result.contacts.source + result.events.source).toBe(load.calendar.loaded.length + load.addressbook.loaded.length);
    expect(result.contacts.copied + result.events.copied + result.badItems.length).toBe(result.contacts.source + result.events.source);

    // exactly the bad items are missing on the target, nothing else and nothing extra
    const gap = await verifyDav(onprem, cloud, address);
    expect(gap.events).toEqual({ missing: [], extra: [] });
    expect(gap.contacts.extra).toEqual([]);
    expect(gap.contacts.missing.sort()).toEqual(result.badItems.map((b) => b.uid).sort());

    // a second run copies nothing and lists the same refusals again
    const again = await createDavCopier().copyDav(onprem, target, address);
    expect(again.contacts.copied + again.events.copied).toBe(0);
    expect(again.badItems.map((b) => b.uid).sort()).toEqual(result.badItems.map((b) => b.uid).sort());
  });

  it('fails with BAD_ITEM_LIMIT, listing the items, only past the limit', async () => {
    const address = await newUser(0, 0);
    await loadCorpus(onprem, address);
    const { target } = await relayed(2_000);
    const error = await errorOf(createDavCopier().copyDav(onprem, target, address, { badItemLimit: 1 }));
    expect(error).toMatchObject({ code: 'BAD_ITEM_LIMIT' });
    expect((error as { badItems: unknown[] }).badItems).toHaveLength(2);
  });
});

describe('checkpoints', () => {
  it('resumes a copy killed at a random PUT: no PUT sent twice, at most one group of PUTs handled again', async () => {
    const contacts = 25;
    const events = 35;
    const address = await newUser(contacts, events);
    const { relay, target } = await relayed();
    const killAt = killMoment('dav resume', 1, contacts + events - 1);
    const controller = new AbortController();
    relay.onPut = (count) => {
      if (count === killAt) controller.abort(new Error('killed'));
    };
    let checkpoint: DavCheckpoint | undefined;
    await expect(createDavCopier().copyDav(onprem, target, address, { signal: controller.signal, onProgress: (c) => (checkpoint = c) })).rejects.toThrow();
    expect(checkpoint).toBeDefined();
    const before = relay.puts.length;
    relay.onPut = undefined;

    const resumed = await createDavCopier().copyDav(onprem, target, address, { checkpoint });
    const after = relay.puts.slice(before);
    console.log(`dav resume: killed after PUT ${killAt}; ${after.length} PUTs after the restart, ${resumed.events.existing + resumed.contacts.existing} items handled again`);
    // every item PUT once over both runs
    expect(new Set(relay.puts).size).toBe(contacts + events);
    expect(relay.puts).toHaveLength(contacts + events);
    // the checkpoint window is one group: the PUTs in flight at the kill
    expect(resumed.events.existing + resumed.contacts.existing).toBeLessThanOrEqual(DAV_TARGET_CONCURRENCY);
    expect(resumed.events.source + resumed.contacts.source).toBe(contacts + events + (resumed.events.existing + resumed.contacts.existing));
    expect(await verifyDav(onprem, cloud, address)).toEqual(noDifference);
  });

  it('counts an item a racing attempt already placed under another name as existing, never a duplicate', async () => {
    const address = await newUser(0, 3);
    await createDavCopier().copyDav(onprem, cloud, address);
    // the target loses one event, then a racing attempt puts it back under a name of its own just before this copy's PUT
    const auth = `Basic ${Buffer.from(`${cloud.user}:${cloud.password}`).toString('base64')}`;
    const calendar = `${cloud.url.replace(/\/$/, '')}/${address}/calendar/`;
    const listing = await (await fetch(calendar, { method: 'PROPFIND', headers: { authorization: auth, depth: '1' } })).text();
    const href = [...listing.matchAll(/<(?:\w+:)?href>([^<]+\.ics)<\/(?:\w+:)?href>/g)].map((m) => m[1]!)[0]!;
    const data = await (await fetch(new URL(href, cloud.url), { headers: { authorization: auth } })).text();
    expect((await fetch(new URL(href, cloud.url), { method: 'DELETE', headers: { authorization: auth } })).ok).toBe(true);
    const { relay, target } = await relayed();
    relay.onPut = async () => {
      const raced = await fetch(`${calendar}raced-${randomUUID()}.ics`, { method: 'PUT', body: data, headers: { authorization: auth, 'content-type': 'text/calendar' } });
      expect(raced.status).toBe(201);
    };
    const again = await createDavCopier().copyDav(onprem, target, address);
    expect(relay.puts).toHaveLength(1);
    expect(again.badItems).toEqual([]);
    expect(again.events).toEqual({ source: 3, copied: 0, existing: 3 });
    expect((await countDav(cloud, address)).events).toBe(3);
  });

  it('reads the source in multiget pages of at most pageSize hrefs listed by PROPFIND, checkpointing each group', async () => {
    const events = 30;
    const pageSize = 7;
    const address = await newUser(0, events);
    // the relay in front of the source, where the paging is
    const relay = await startDavRelay(onprem.url);
    relays.push(relay);
    const afters: string[] = [];
    const result = await createDavCopier().copyDav({ ...onprem, url: relay.url }, cloud, address, {
      pageSize,
      onProgress: (checkpoint) => {
        if (checkpoint.current) afters.push(checkpoint.current.after);
      },
    });
    expect(result.events).toEqual({ source: events, copied: events, existing: 0 });
    // never one REPORT of the whole calendar: ceil(30 / 7) multigets of at most 7 hrefs
    expect(relay.reports.map((r) => [r.kind, r.hrefs])).toEqual([
      ['calendar-multiget', 7],
      ['calendar-multiget', 7],
      ['calendar-multiget', 7],
      ['calendar-multiget', 7],
      ['calendar-multiget', 2],
    ]);
    // a checkpoint after every group of PUTs, moving forward only
    expect(afters.length).toBeGreaterThanOrEqual(Math.ceil(events / pageSize));
    expect([...afters].sort()).toEqual(afters);
    expect(new Set(afters).size).toBe(afters.length);
    expect(await verifyDav(onprem, cloud, address)).toEqual(noDifference);
  });
});
