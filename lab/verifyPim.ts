/**
 * Independent check of a contacts and calendars copy into the Graph
 * stand-in: every item of the source mailbox (read over DAV, parsed with
 * ical.js, the source's own words) against what the stand-in holds, field by
 * field. An item that is not in Graph must be a bad item of the copy (with
 * its reason), never both, never neither.
 *
 * Library: `sourceItems`, `standInMailbox`, `comparePim` (test/m365.pim.lab.test.ts).
 * CLI:     `tsx lab/verifyPim.ts --address X [--tenant T]` (the lab's tenant by
 *          default); exits 1 when the copy differs from the source.
 */
import type { Contact, Event } from '@microsoft/microsoft-graph-types';
import { Command } from 'commander';
import ICAL from 'ical.js';
import { listCollections } from '../connectors/dav/collections';
import { createDavHttp } from '../connectors/dav/http';
import { itemPages, listHrefs, type DavItem } from '../connectors/dav/items';
import type { DavEndpoint } from '../connectors/dav/types';
import { SOURCE_UID } from '../connectors/m365/pim/extendedProperties';
import { GRAPH_URL } from './graph/control';
import { readLabInfo } from './info';

export type StoredEvent = Event & { exceptions: Record<string, Event | null> };
/** one mailbox as the stand-in's control API shows it */
export interface StandInMailbox {
  contactFolders: Array<{ displayName: string; contacts: Contact[] }>;
  calendars: Array<{ name: string; events: StoredEvent[] }>;
}
export type SourceItem = DavItem & { kind: 'calendar' | 'addressbook' };

export interface PimFinding {
  uid: string;
  field: string;
  source: unknown;
  target: unknown;
}

export interface PimReport {
  /** items compared field by field (in Graph, not bad items) */
  contacts: number;
  events: number;
  findings: PimFinding[];
}

export async function standInMailbox(tenant: string, address: string): Promise<StandInMailbox> {
  const response = await fetch(`${GRAPH_URL}/_lab/pim/tenants/${tenant}/mailboxes/${encodeURIComponent(address)}`);
  if (!response.ok) throw new Error(`Graph stand-in: the mailbox ${address} of tenant ${tenant}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as StandInMailbox;
}

/** every item of the source mailbox, read over DAV */
export async function sourceItems(source: DavEndpoint, address: string): Promise<SourceItem[]> {
  const http = createDavHttp(source);
  const items: SourceItem[] = [];
  for (const collection of await listCollections(http, address)) {
    for await (const page of itemPages(http, collection, await listHrefs(http, collection))) items.push(...page.items.map((i) => ({ ...i, kind: collection.kind })));
  }
  return items;
}

export const uidOf = (item: { singleValueExtendedProperties?: Array<{ id?: string | null; value?: string | null }> | null }) =>
  item.singleValueExtendedProperties?.find((p) => p.id === SOURCE_UID)?.value ?? null;
export const allContacts = (m: StandInMailbox) => m.contactFolders.flatMap((f) => f.contacts);
export const allEvents = (m: StandInMailbox) => m.calendars.flatMap((c) => c.events);

const text = (c: ICAL.Component, name: string) => String(c.getFirstPropertyValue(name) ?? '').trim();
const pad = (n: number) => String(n).padStart(2, '0');
const wallOf = (t: ICAL.Time) => `${t.year}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`;

/** The source's own words (read with ical.js) against what Graph holds, field by field. */
export function comparePim(source: SourceItem[], stored: StandInMailbox, badUids: Iterable<string> = []): PimReport {
  const bad = new Set(badUids);
  const contacts = new Map(allContacts(stored).map((c) => [uidOf(c), c]));
  const events = new Map(allEvents(stored).map((e) => [uidOf(e), e]));
  const report: PimReport = { contacts: 0, events: 0, findings: [] };
  for (const item of source) {
    const differ = (field: string, want: unknown, got: unknown) => {
      if (JSON.stringify(want) !== JSON.stringify(got)) report.findings.push({ uid: item.uid, field, source: want, target: got });
    };
    const found = item.kind === 'addressbook' ? contacts.get(item.uid) : events.get(item.uid);
    // in Graph, or a bad item with its reason: never both, never neither
    differ('in Graph or a bad item', { inGraph: !bad.has(item.uid), bad: bad.has(item.uid) }, { inGraph: Boolean(found), bad: !found });
    if (!found) continue;
    if (item.kind === 'addressbook') {
      const contact = found as Contact;
      const card = new ICAL.Component(ICAL.parse(item.data.replace(/^VERSION:2\.1/m, 'VERSION:3.0').replace(/;(?=[A-Z-]+[;:])(?![A-Z-]+=)/g, ';TYPE=')));
      const fn = /^FN[;:]/m.test(item.data) && !/^FN;.*QUOTED-PRINTABLE/m.test(item.data) ? text(card, 'fn') : null;
      if (fn) differ('displayName', fn, contact.displayName);
      const emails = item.data.replace(/\r?\n[ \t]/g, '').match(/^(?:[\w-]+\.)?EMAIL[^:\r\n]*:(.+)$/gim)?.map((l) => l.slice(l.indexOf(':') + 1).trim().toLowerCase()) ?? [];
      for (const e of contact.emailAddresses ?? []) if (!emails.includes(e.address?.toLowerCase() ?? '')) differ('emailAddresses', emails, e.address);
      // Graph keeps at most 3 addresses
      differ('emailAddresses count', Math.min(3, new Set(emails).size), (contact.emailAddresses ?? []).length);
      report.contacts += 1;
    } else {
      const event = found as StoredEvent;
      const vevent = new ICAL.Component(ICAL.parse(item.data.replace(/^(RRULE)([;:].*)$/gim, (l) => l.replace(/,\s+/g, ','))))
        .getAllSubcomponents('vevent')
        .find((v) => !v.getFirstProperty('recurrence-id'))!;
      differ('subject', text(vevent, 'summary'), event.subject);
      const dtstart = vevent.getFirstPropertyValue('dtstart') as ICAL.Time;
      differ('isAllDay', dtstart.isDate, event.isAllDay);
      if (!dtstart.isDate && event.start?.timeZone !== 'UTC') differ('start', wallOf(dtstart), event.start?.dateTime);
      const location = text(vevent, 'location');
      if (location) differ('location', location, event.location?.displayName);
      const description = text(vevent, 'description');
      if (description && !event.body?.content?.includes(description)) differ('body', description, event.body?.content);
      differ('recurrence', Boolean(vevent.getFirstProperty('rrule')), Boolean(event.recurrence));
      const overrides = (new ICAL.Component(ICAL.parse(item.data)).getAllSubcomponents('vevent') as ICAL.Component[]).filter((v) => v.getFirstProperty('recurrence-id'));
      const exdates = vevent.getAllProperties('exdate').flatMap((p) => p.getValues());
      if (event.recurrence) differ('exceptions', overrides.length + exdates.length, Object.keys(event.exceptions).length);
      for (const override of overrides) {
        const start = wallOf(override.getFirstPropertyValue('dtstart') as ICAL.Time);
        const moved = Object.values(event.exceptions).some((e) => e && e.start?.dateTime === start);
        if (!moved) differ('moved occurrence', start, null);
      }
      report.events += 1;
    }
  }
  return report;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('verifyPim')
    .description("Compare a lab mailbox's contacts and events on-premises (DAV) with its copy in the Graph stand-in, field by field")
    .requiredOption('--address <address>', 'the mailbox address')
    .option('--tenant <id>', "the stand-in's tenant (default: the lab's)")
    .parse(argv);
  const opts = program.opts<{ address: string; tenant?: string }>();
  const info = readLabInfo();
  const dav = { url: info.onprem.dav.url, user: info.onprem.dav.admin.user, password: info.onprem.dav.admin.password };
  const source = await sourceItems(dav, opts.address);
  const stored = await standInMailbox(opts.tenant ?? info.m365.tenantId, opts.address);
  const report = comparePim(source, stored);
  for (const f of report.findings) console.log(`DIFFERENT ${f.uid}: ${f.field}: ${JSON.stringify(f.source)} on the source, ${JSON.stringify(f.target)} in Graph`);
  const extra = allContacts(stored).length + allEvents(stored).length - report.contacts - report.events;
  if (extra > 0) console.log(`EXTRA: ${extra} items in Graph that are not on the source`);
  const equal = report.findings.length === 0 && extra === 0;
  console.log(
    `${opts.address}: ${report.contacts} contacts and ${report.events} events${equal ? ' equal to the source, field by field' : `: NOT equal (${report.findings.length} differences, ${Math.max(0, extra)} extra)`}`,
  );
  process.exitCode = equal ? 0 : 1;
}

if (require.main === module) {
  main(process.argv).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  });
}
