/**
 * Contacts and calendars from the lab's source Radicale into the Graph
 * stand-in (lab/graph/pim.ts), every request and response checked against
 * the v1.0 CSDL: the real-world corpus and seeded items (recurrence, a moved
 * occurrence, attendees, time zones) checked field by field against the
 * source; meetings created without invitations unless asked; a re-run and a
 * resumed crash that duplicate nothing; Retry-After honoured; never more than
 * 4 requests at once for one mailbox.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import type { ActivityDeps, Connectors } from '../activities/deps';
import { createMailDataActivities } from '../activities/mailData';
import type { ConnectionSettings } from '../shared/domain';
import type { DavCopyResult, DavEndpoint } from '../connectors/dav/types';
import { createGraphPimCopier, type GraphPimTarget } from '../connectors/m365/pim/copy';
import { DOMAINS } from '../lab/config';
import { clearViolations, createLabTenant, GRAPH_URL, setPageSize, setThrottle, tenantStats, violations, type LabTenant } from '../lab/graph/control';
import type { Invitation } from '../lab/graph/pim';
import { readLabInfo, type LabInfo } from '../lab/info';
import { loadCorpus } from '../lab/seed/corpus';
import { createOrgUser, removeOrgUser } from '../lab/users';
import { allContacts, allEvents, comparePim, sourceItems, standInMailbox, type StandInMailbox } from '../lab/verifyPim';
import { errorOf } from './helpers/lab';

jest.setTimeout(600_000);

let info: LabInfo;
let onprem: DavEndpoint;
const created: string[] = [];

const mailboxOf = (lab: LabTenant, address: string) => standInMailbox(lab.tenant, address);
const invitationsOf = async (lab: LabTenant) => (await (await fetch(`${GRAPH_URL}/_lab/pim/tenants/${lab.tenant}/invitations`)).json()) as Invitation[];

const newTenant = () => createLabTenant({ domains: [{ id: DOMAINS.primary, isDefault: true }], users: [] });
const target = (lab: LabTenant, extra: Partial<GraphPimTarget> = {}): GraphPimTarget => ({ app: lab.tenant, baseUrl: GRAPH_URL, accessToken: async () => lab.token, ...extra });

async function newUser(contacts: number, events: number, corpus: boolean): Promise<string> {
  const address = `m365p-${randomUUID().slice(0, 8)}@${DOMAINS.primary}`;
  await createOrgUser(info, { address, password: 'Onprem-P4ss', kind: 'normal', messages: 0, contacts, events, withMeu: true });
  created.push(address);
  if (corpus) await loadCorpus(onprem, address);
  return address;
}

const size = (m: StandInMailbox) => ({ contacts: allContacts(m).length, events: allEvents(m).length, exceptions: allEvents(m).reduce((n, e) => n + Object.keys(e.exceptions).length, 0) });

beforeAll(async () => {
  info = readLabInfo();
  onprem = { url: info.onprem.dav.url, user: info.onprem.dav.admin.user, password: info.onprem.dav.admin.password };
  await clearViolations();
});

afterAll(async () => {
  for (const address of created) await removeOrgUser(info, address);
});

describe('copy into Graph', () => {
  let address: string;
  let lab: LabTenant;
  let first: DavCopyResult;

  beforeAll(async () => {
    address = await newUser(12, 20, true);
    lab = await newTenant();
    first = await createGraphPimCopier(target(lab)).copyPim(onprem, address);
    console.log(`m365 pim copy: ${JSON.stringify({ contacts: first.contacts, events: first.events, attendees: first.attendees, bad: first.badItems.map((b) => `${b.uid.slice(0, 30)}: ${b.answer.slice(0, 90)}`) })}`);
  });

  it('copies the corpus and the seeded items field by field, the rest listed as bad items, with no CSDL violation', async () => {
    const source = await sourceItems(onprem, address);
    const stored = await mailboxOf(lab, address);
    const checked = comparePim(source, stored, first.badItems.map((b) => b.uid));
    expect(checked.findings).toEqual([]);
    console.log(`m365 pim check: ${checked.contacts} contacts and ${checked.events} events compared with the source; ${first.badItems.length} bad items`);
    expect(first.contacts.source + first.events.source).toBe(source.length);
    expect(checked.contacts + checked.events + first.badItems.length).toBe(source.length);
    expect(checked.contacts).toBeGreaterThanOrEqual(20);
    expect(checked.events).toBeGreaterThanOrEqual(25);
    for (const bad of first.badItems) expect(bad.answer).toMatch(/^not copied: .{10,}/);
    expect(await violations(lab.tenant)).toEqual([]);
  });

  it('creates meetings without their attendees: no invitation sent, the attendees counted and kept in the body', async () => {
    expect(first.attendees?.events).toBeGreaterThanOrEqual(1);
    expect(first.attendees?.invited).toBe(false);
    expect(await invitationsOf(lab)).toEqual([]);
    const stored = allEvents(await mailboxOf(lab, address));
    expect(stored.filter((e) => (e.attendees ?? []).length > 0)).toEqual([]);
    expect(stored.filter((e) => e.body?.content?.includes('copied by the migration without sending invitations')).length).toBe(first.attendees?.events);
  });

  it('sends the invitations when asked to', async () => {
    const other = await newTenant();
    const result = await createGraphPimCopier(target(other, { sendInvitations: true })).copyPim(onprem, address);
    const invitations = await invitationsOf(other);
    expect(invitations.length).toBe(result.attendees?.events);
    expect(invitations.reduce((n, i) => n + i.to.length, 0)).toBe(result.attendees?.attendees);
    expect(await violations(other.tenant)).toEqual([]);
  });

  it('a re-run creates nothing and adds no instance change', async () => {
    const before = size(await mailboxOf(lab, address));
    const again = await createGraphPimCopier(target(lab)).copyPim(onprem, address);
    expect(again.contacts.copied + again.events.copied).toBe(0);
    expect(again.contacts.existing + again.events.existing).toBe(first.contacts.copied + first.events.copied);
    expect(size(await mailboxOf(lab, address))).toEqual(before);
    expect(await invitationsOf(lab)).toEqual([]);
  });

  it('pages of one item (calendars, contact folders, a series instances): copied in full, and a re-run finds everything', async () => {
    const paged = await newTenant();
    await setPageSize(paged.tenant, 1);
    const result = await createGraphPimCopier(target(paged)).copyPim(onprem, address);
    const stored = await mailboxOf(paged, address);
    expect(comparePim(await sourceItems(onprem, address), stored, result.badItems.map((b) => b.uid)).findings).toEqual([]);
    expect(result.badItems.map((b) => b.uid).sort()).toEqual(first.badItems.map((b) => b.uid).sort());
    // more than one calendar and folder, so finding them again on the re-run takes more than the first page
    expect(stored.calendars.length).toBeGreaterThan(1);
    expect(stored.contactFolders.length).toBeGreaterThan(1);
    const again = await createGraphPimCopier(target(paged)).copyPim(onprem, address);
    expect(again.contacts.copied + again.events.copied).toBe(0);
    const after = await mailboxOf(paged, address);
    expect(size(after)).toEqual(size(stored));
    expect([after.calendars.length, after.contactFolders.length]).toEqual([stored.calendars.length, stored.contactFolders.length]);
    expect(await violations(paged.tenant)).toEqual([]);
  });
});

describe('crash, throttling and concurrency', () => {
  it('a copy stopped mid-way and started again without its checkpoint duplicates nothing', async () => {
    const address = await newUser(15, 15, false);
    const lab = await newTenant();
    const controller = new AbortController();
    let progress = 0;
    const stopped = await errorOf(
      createGraphPimCopier(target(lab)).copyPim(onprem, address, {
        signal: controller.signal,
        onProgress: () => {
          if (++progress === 3) controller.abort(new Error('stopped'));
        },
      }),
    );
    expect(stopped).toBeDefined();
    const partial = size(await mailboxOf(lab, address));
    expect(partial.contacts + partial.events).toBeGreaterThan(0);
    const rerun = await createGraphPimCopier(target(lab)).copyPim(onprem, address);
    console.log(`m365 pim resume: ${partial.contacts + partial.events} items there before the re-run; it found ${rerun.contacts.existing + rerun.events.existing} and created ${rerun.contacts.copied + rerun.events.copied}`);
    expect(rerun.contacts.existing + rerun.events.existing).toBe(partial.contacts + partial.events);
    expect(size(await mailboxOf(lab, address))).toMatchObject({ contacts: 15, events: 15 });
  });

  it('honours 429 Retry-After: the copy waits and completes', async () => {
    const address = await newUser(3, 3, false);
    const lab = await newTenant();
    await setThrottle(lab.tenant, { failNext: 2, retryAfterSeconds: 2 });
    const started = Date.now();
    const result = await createGraphPimCopier(target(lab)).copyPim(onprem, address);
    const waited = Date.now() - started;
    const stats = await tenantStats(lab.tenant);
    console.log(`m365 pim throttled: ${stats.throttled} answers 429 (Retry-After 2 s), copy took ${waited} ms`);
    expect(stats.throttled).toBe(2);
    expect(waited).toBeGreaterThanOrEqual(4_000);
    expect(result.badItems).toEqual([]);
    expect(size(await mailboxOf(lab, address))).toMatchObject({ contacts: 3, events: 3 });
  });

  it('never has more than 4 requests in flight for one mailbox', async () => {
    const address = await newUser(30, 10, false);
    const lab = await newTenant();
    // slow answers, so requests overlap; the stand-in answers 429 to a fifth concurrent request
    await setThrottle(lab.tenant, { latencyMs: 40, mailboxConcurrency: 4 });
    const result = await createGraphPimCopier(target(lab, { maxRetries: 0 })).copyPim(onprem, address);
    const stats = await tenantStats(lab.tenant);
    console.log(`m365 pim concurrency: peak ${stats.peakMailboxConcurrency} requests in flight, ${stats.throttled} refused, ${stats.requests} requests`);
    expect(result.contacts.copied + result.events.copied).toBe(40);
    expect(stats.throttled).toBe(0);
    expect(stats.peakMailboxConcurrency).toBe(4);
  });
});

describe('the copy activity', () => {
  it('copies into Graph when the organisation has a Graph target, heartbeating its checkpoint, and reports the meetings not invited', async () => {
    const address = await newUser(4, 12, false);
    const lab = await newTenant();
    const refuse = () => {
      throw new Error('the DAV target must not be used for an m365 organisation');
    };
    const connectors = {
      sourceDav: () => onprem,
      targetDav: refuse,
      dav: { copyDav: refuse, holdsItems: refuse },
      graphPim: () => createGraphPimCopier(target(lab)),
    } as Partial<Connectors> as Connectors;
    const activities = createMailDataActivities({ connectors, logger: pino({ level: 'silent' }) } as Partial<ActivityDeps> as ActivityDeps);
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => (beats += 1));
    const result = (await env.run(activities.copyContactsAndCalendars, { settings: {} as ConnectionSettings, address })) as Awaited<
      ReturnType<typeof activities.copyContactsAndCalendars>
    >;
    expect({ contacts: result.contactsCopied, events: result.eventsCopied }).toEqual({ contacts: 4, events: 12 });
    expect(beats).toBeGreaterThanOrEqual(2);
    // a finished copy leaves no checkpoint: the next pass reads every collection again
    expect(result.checkpoint).toBeNull();
    expect(result.attendees?.invited).toBe(false);
    expect(result.attendees?.events).toBe(allEvents(await mailboxOf(lab, address)).filter((e) => e.body?.content?.includes('without sending invitations')).length);
  });
});
