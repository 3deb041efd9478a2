/**
 * Contacts and calendars in the Graph stand-in: contact folders and their
 * contacts, calendars and their events, a series' instances (expanded from
 * its patternedRecurrence by lab/graph/recurrence.ts) with their changes and
 * deletions, `$filter` on singleValueExtendedProperties, and the
 * invitations Exchange would send. Behaviours reproduced from Microsoft's
 * documentation:
 * - creating an event with attendees sends each attendee an invitation
 *   (recorded here, per mailbox, for tests to read);
 * - extended properties are stored with the item but returned only when
 *   asked for with `$expand=singleValueExtendedProperties($filter=id eq …)`;
 * - `instances` needs `startDateTime` and `endDateTime` and returns the
 *   occurrences and exceptions starting in that window, each with its
 *   `originalStart`; a deleted occurrence is gone from it;
 * - every list comes in pages of 10 (`$top` up to 1,000) with `@odata.nextLink`.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Calendar, Contact, ContactFolder, Event, SingleValueLegacyExtendedProperty } from '@microsoft/microsoft-graph-types';
import { epochToWall, ianaOf, parseWall, wallDateTime, wallToEpoch } from '../../connectors/m365/pim/timezones';
import { evaluateFilter, parseFilter } from './filter';
import { OUTLOOK_PAGES, page } from './paging';
import { occurrences } from './recurrence';
import { ControlError, graphError, type GraphModule, type GraphReply, type GraphRequest, type Tenant } from './server';

export interface Invitation {
  mailbox: string;
  eventId: string;
  subject: string;
  to: string[];
}

interface Folder<T, I> {
  folder: T;
  items: Map<string, I>;
}

interface MailboxPim {
  contactFolders: Map<string, Folder<ContactFolder, Contact>>;
  calendars: Map<string, Folder<Calendar, Event>>;
  /** per series master: original start (ISO UTC) → the changed instance, or null when deleted */
  exceptions: Map<string, Map<string, Event | null>>;
}

interface PimState {
  mailboxes: Map<string, MailboxPim>;
  invitations: Invitation[];
}

const stateOf = (tenant: Tenant) => tenant.store<PimState>('pim', () => ({ mailboxes: new Map(), invitations: [] }));

function mailboxOf(tenant: Tenant, user: string): MailboxPim {
  const state = stateOf(tenant);
  const key = user.toLowerCase();
  let mailbox = state.mailboxes.get(key);
  if (!mailbox) {
    // every Exchange mailbox has its default calendar
    const id = newId();
    mailbox = { contactFolders: new Map(), calendars: new Map([[id, { folder: { id, name: 'Calendar', isDefaultCalendar: true }, items: new Map() }]]), exceptions: new Map() };
    state.mailboxes.set(key, mailbox);
  }
  return mailbox;
}

const newId = () => Buffer.from(randomUUID()).toString('base64url');
const notFound = (what: string): GraphReply => graphError(404, 'ErrorItemNotFound', `The specified object was not found in the store. (${what})`);

/** What Graph returns of an item: stored fields, `$select`ed, extended properties only when `$expand`ed. */
function shape(item: Record<string, unknown>, query: URLSearchParams): Record<string, unknown> {
  const { singleValueExtendedProperties, ...rest } = item as { singleValueExtendedProperties?: SingleValueLegacyExtendedProperty[] };
  const select = query.get('$select');
  let out: Record<string, unknown> = rest;
  if (select) out = Object.fromEntries(['id', ...select.split(',').map((s) => s.trim())].filter((k) => k in rest).map((k) => [k, rest[k as keyof typeof rest]]));
  const expand = /singleValueExtendedProperties(?:\(\$filter=(.*)\))?/.exec(query.get('$expand') ?? '');
  if (expand) {
    const filter = expand[1] ? parseFilter(expand[1]) : null;
    out.singleValueExtendedProperties = (singleValueExtendedProperties ?? []).filter((p) => !filter || evaluateFilter(filter, p as Record<string, unknown>));
  }
  return out;
}

function list<T extends { id?: string | null }>(items: Iterable<T>, request: GraphRequest): GraphReply {
  const filter = request.query.get('$filter');
  const expr = filter ? parseFilter(filter) : null;
  const found = [...items].filter((i) => !expr || evaluateFilter(expr, i as Record<string, unknown>));
  return page(request, found, OUTLOOK_PAGES, (i) => shape(i as Record<string, unknown>, request.query));
}

const epochOf = (t: Event['start']) => wallToEpoch(parseWall(t?.dateTime ?? ''), ianaOf(t?.timeZone ?? 'UTC') ?? 'UTC');
const isoUtc = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const instanceId = (masterId: string, originalStart: string) => `${masterId}.${Buffer.from(originalStart).toString('base64url')}`;

function findEvent(mailbox: MailboxPim, id: string): { calendar: Folder<Calendar, Event>; event: Event } | null {
  for (const calendar of mailbox.calendars.values()) {
    const event = calendar.items.get(id);
    if (event) return { calendar, event };
  }
  return null;
}

/** The series' occurrences and exceptions that start in [from, to), as Graph lists instances. */
function instancesOf(mailbox: MailboxPim, master: Event, from: number, to: number): Event[] {
  const recurrence = master.recurrence;
  if (!recurrence || !master.start || !master.end) return [];
  const zone = ianaOf(recurrence.range?.recurrenceTimeZone ?? master.start.timeZone ?? 'UTC') ?? 'UTC';
  const length = epochOf(master.end) - epochOf(master.start);
  const changes = mailbox.exceptions.get(master.id!) ?? new Map<string, Event | null>();
  const until = epochToWall(to + 366 * 86_400_000, zone);
  const result: Event[] = [];
  for (const wall of occurrences(recurrence, parseWall(master.start.dateTime!), wallDateTime(until).slice(0, 10))) {
    const startMs = wallToEpoch(wall, zone);
    const originalStart = isoUtc(startMs);
    const change = changes.get(originalStart);
    if (change === null) continue;
    const start = change?.start ?? { dateTime: wallDateTime(wall), timeZone: master.start.timeZone };
    const end = change?.end ?? { dateTime: wallDateTime(epochToWall(startMs + length, zone)), timeZone: master.end.timeZone };
    const at = epochOf(start);
    if (at < from || at >= to) continue;
    const { recurrence: _series, singleValueExtendedProperties: _props, ...fields } = master;
    result.push({ ...fields, ...change, id: instanceId(master.id!, originalStart), seriesMasterId: master.id!, type: change ? 'exception' : 'occurrence', originalStart, start, end });
  }
  return result;
}

/** an instance id (`<master>.<original start>`), or null for a stored event's id */
function parseInstanceId(id: string): { masterId: string; originalStart: string } | null {
  const dot = id.lastIndexOf('.');
  if (dot < 0) return null;
  return { masterId: id.slice(0, dot), originalStart: Buffer.from(id.slice(dot + 1), 'base64url').toString() };
}

export const pimModule: GraphModule = (routes, standIn) => {
  const standInTenant = (id: string): Tenant => {
    const tenant = standIn.tenant(id);
    if (!tenant) throw new ControlError(404, `no tenant ${id}`);
    return tenant;
  };
  const mailbox = (request: GraphRequest, user: string) => mailboxOf(request.tenant, user);

  routes.add('GET', '/users/{user}/contactFolders', (request, { user }) => list([...mailbox(request, user).contactFolders.values()].map((f) => f.folder), request));
  routes.add('POST', '/users/{user}/contactFolders', (request, { user }) => {
    const body = request.body as ContactFolder;
    const folder: ContactFolder = { id: newId(), displayName: body.displayName ?? '', parentFolderId: 'contacts' };
    mailbox(request, user).contactFolders.set(folder.id!, { folder, items: new Map() });
    return { status: 201, body: folder };
  });
  routes.add('GET', '/users/{user}/contactFolders/{folder}/contacts', (request, { user, folder }) => {
    const found = mailbox(request, user).contactFolders.get(folder);
    return found ? list(found.items.values(), request) : notFound(folder);
  });
  routes.add('POST', '/users/{user}/contactFolders/{folder}/contacts', (request, { user, folder }) => {
    const found = mailbox(request, user).contactFolders.get(folder);
    if (!found) return notFound(folder);
    const now = new Date().toISOString();
    const contact: Contact = { ...(request.body as Contact), id: newId(), parentFolderId: folder, createdDateTime: now, lastModifiedDateTime: now };
    found.items.set(contact.id!, contact);
    return { status: 201, body: shape(contact as Record<string, unknown>, new URLSearchParams()) };
  });

  routes.add('GET', '/users/{user}/calendars', (request, { user }) => list([...mailbox(request, user).calendars.values()].map((c) => c.folder), request));
  routes.add('POST', '/users/{user}/calendars', (request, { user }) => {
    const calendar: Calendar = { id: newId(), name: (request.body as Calendar).name ?? '', isDefaultCalendar: false };
    mailbox(request, user).calendars.set(calendar.id!, { folder: calendar, items: new Map() });
    return { status: 201, body: calendar };
  });
  routes.add('GET', '/users/{user}/calendars/{calendar}/events', (request, { user, calendar }) => {
    const found = mailbox(request, user).calendars.get(calendar);
    return found ? list(found.items.values(), request) : notFound(calendar);
  });
  routes.add('POST', '/users/{user}/calendars/{calendar}/events', (request, { user, calendar }) => {
    const found = mailbox(request, user).calendars.get(calendar);
    if (!found) return notFound(calendar);
    const body = request.body as Event;
    if (!body.start?.dateTime || !body.end?.dateTime) return graphError(400, 'ErrorInvalidRequest', 'An event needs start and end.');
    if (!ianaOf(body.start.timeZone ?? '') || !ianaOf(body.end.timeZone ?? '')) return graphError(400, 'TimeZoneNotSupportedException', `A valid TimeZone value must be specified. The following TimeZone value is not supported: '${body.start.timeZone}'.`);
    const now = new Date().toISOString();
    const event: Event = {
      ...body,
      id: newId(),
      type: body.recurrence ? 'seriesMaster' : 'singleInstance',
      iCalUId: createHash('sha256').update(randomUUID()).digest('hex').slice(0, 40),
      isOrganizer: true,
      createdDateTime: now,
      lastModifiedDateTime: now,
    };
    found.items.set(event.id!, event);
    const to = (body.attendees ?? []).map((a) => a.emailAddress?.address ?? '').filter(Boolean);
    // what Exchange does on creating a meeting: an invitation to every attendee
    if (to.length) stateOf(request.tenant).invitations.push({ mailbox: user.toLowerCase(), eventId: event.id!, subject: event.subject ?? '', to });
    return { status: 201, body: shape(event as Record<string, unknown>, new URLSearchParams()) };
  });

  routes.add('GET', '/users/{user}/events/{id}/instances', (request, { user, id }) => {
    const from = Date.parse(request.query.get('startDateTime') ?? '');
    const to = Date.parse(request.query.get('endDateTime') ?? '');
    if (Number.isNaN(from) || Number.isNaN(to)) return graphError(400, 'ErrorInvalidParameter', 'This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.');
    const box = mailbox(request, user);
    const found = findEvent(box, id);
    if (!found) return notFound(id);
    return list(instancesOf(box, found.event, from, to), request);
  });
  routes.add('PATCH', '/users/{user}/events/{id}', (request, { user, id }) => {
    const box = mailbox(request, user);
    const instance = parseInstanceId(id);
    if (instance) {
      const master = findEvent(box, instance.masterId);
      if (!master) return notFound(id);
      const changes = box.exceptions.get(instance.masterId) ?? new Map<string, Event | null>();
      if (changes.get(instance.originalStart) === null) return notFound(id);
      changes.set(instance.originalStart, { ...changes.get(instance.originalStart), ...(request.body as Event) });
      box.exceptions.set(instance.masterId, changes);
      return { status: 200, body: { id, ...changes.get(instance.originalStart), originalStart: instance.originalStart, type: 'exception', seriesMasterId: instance.masterId } };
    }
    const found = findEvent(box, id);
    if (!found) return notFound(id);
    Object.assign(found.event, request.body, { lastModifiedDateTime: new Date().toISOString() });
    return { status: 200, body: shape(found.event as Record<string, unknown>, new URLSearchParams()) };
  });
  routes.add('DELETE', '/users/{user}/events/{id}', (request, { user, id }) => {
    const box = mailbox(request, user);
    const instance = parseInstanceId(id);
    if (instance) {
      const changes = box.exceptions.get(instance.masterId) ?? new Map<string, Event | null>();
      if (changes.get(instance.originalStart) === null || !findEvent(box, instance.masterId)) return notFound(id);
      changes.set(instance.originalStart, null);
      box.exceptions.set(instance.masterId, changes);
      return { status: 204 };
    }
    const found = findEvent(box, id);
    if (!found) return notFound(id);
    found.calendar.items.delete(id);
    return { status: 204 };
  });

  /** the whole PIM state of one mailbox, extended properties and exceptions included: what a test compares with the source */
  routes.control('GET', '/pim/tenants/{tenant}/mailboxes/{user}', (_body, { tenant: id, user }) => {
    const box = mailboxOf(standInTenant(id), user);
    return {
      contactFolders: [...box.contactFolders.values()].map((f) => ({ ...f.folder, contacts: [...f.items.values()] })),
      calendars: [...box.calendars.values()].map((c) => ({
        ...c.folder,
        events: [...c.items.values()].map((e) => ({ ...e, exceptions: Object.fromEntries(box.exceptions.get(e.id!) ?? []) })),
      })),
    };
  });
  routes.control('GET', '/pim/tenants/{tenant}/invitations', (_body, { tenant: id }) => stateOf(standInTenant(id)).invitations);
};
