/**
 * An iCalendar object (one UID: the master VEVENT, its RECURRENCE-ID
 * overrides, its VTIMEZONEs) as a Graph `event` to create, then the changes
 * to make to its instances: overrides updated, EXDATEs and cancelled
 * overrides deleted. Times keep their wall clock and get the Windows name of
 * their zone, so a weekly 09:00 stays 09:00 across daylight saving.
 *
 * Attendees: creating an event with attendees makes Exchange send them
 * invitations, and Graph has no switch to stop that. So by default the user's
 * copy has none; the list goes into the body (for the user) and into an
 * extended property (for a later tool), and `sendInvitations` puts them back.
 */
import type { Attendee, AttendeeType, Event, Importance, Sensitivity } from '@microsoft/microsoft-graph-types';
import ICAL from 'ical.js';
import { ATTENDEES, SOURCE_UID } from './extendedProperties';
import { recurrenceOf } from './recurrence';
import { epochToWall, ianaOf, resolveTzid, wallDateTime, wallToEpoch, type Wall } from './timezones';
import type { Mapped } from './vcard';

export interface EventMappingOptions {
  /** create the events with their attendees, which sends each an invitation */
  sendInvitations?: boolean;
  /** the zone (Windows name or UTC) for floating times and all-day events; default UTC */
  floatingTimeZone?: string;
}

export interface SourceAttendee {
  email: string;
  name?: string;
  role?: string;
  status?: string;
  kind?: string;
}

/** A change to one instance, which Graph finds by its original start (UTC). */
export interface InstanceChange {
  /** ISO 8601 UTC, e.g. `2026-03-10T08:00:00Z` */
  originalStart: string;
  /** null: the instance is deleted (EXDATE, or an override with STATUS:CANCELLED) */
  patch: Event | null;
}

/** An RDATE occurrence: Graph has no room for it in the series, so it becomes an event of its own. */
export interface ExtraOccurrence {
  /** the source UID and the occurrence's original start: what the extended property holds for it */
  key: string;
  event: Event;
}

export interface MappedEvent {
  uid: string;
  summary: string;
  event: Event;
  instances: InstanceChange[];
  extras: ExtraOccurrence[];
  /** the source's attendees, kept off the created event unless invitations are sent */
  attendees: SourceAttendee[];
}

class Unmappable extends Error {}

const COMPONENTS_GRAPH_HOLDS = new Set(['vevent', 'vtimezone']);

const wallOf = (t: ICAL.Time): Wall => ({ year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute, second: t.second });
const isUtc = (t: ICAL.Time) => t.zone?.tzid === 'UTC' || String(t.toString()).endsWith('Z');
const isoUtc = (epochMs: number) => new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');

interface Zones {
  byTzid: Map<string, ICAL.Component>;
  floating: string;
}

/** How a DATE-TIME of the item reads in Graph: its wall clock and a zone Graph knows. */
interface GraphTime {
  wall: Wall;
  /** Windows name, or UTC */
  timeZone: string;
  /** the IANA zone, to compute instants; null only for an unresolved zone, after conversion to UTC */
  iana: string;
  /** the zone could not be named: the time was converted to UTC */
  converted: boolean;
}

function graphTime(prop: ICAL.Property, zones: Zones, allDay: boolean): GraphTime {
  const time = prop.getFirstValue() as ICAL.Time;
  return timeOf(time, prop.getParameter('tzid') as string | undefined, zones, allDay);
}

function timeOf(time: ICAL.Time, tzid: string | undefined, zones: Zones, allDay: boolean): GraphTime {
  const wall = wallOf(time);
  if (allDay || time.isDate) return { wall: { ...wall, hour: 0, minute: 0, second: 0 }, timeZone: zones.floating, iana: ianaOf(zones.floating) ?? 'UTC', converted: false };
  if (isUtc(time)) return { wall, timeZone: 'UTC', iana: 'UTC', converted: false };
  if (!tzid) return { wall, timeZone: zones.floating, iana: ianaOf(zones.floating) ?? 'UTC', converted: false };
  const vtimezone = zones.byTzid.get(tzid) ?? null;
  const resolved = resolveTzid(tzid, vtimezone, wall.year);
  if (resolved.windows) return { wall, timeZone: resolved.windows, iana: ianaOf(resolved.windows) ?? 'UTC', converted: false };
  if (!vtimezone) throw new Unmappable('reason' in resolved ? resolved.reason : tzid);
  // the instant is still known from the VTIMEZONE: keep it, in UTC
  const zoned = time.clone();
  zoned.zone = new ICAL.Timezone(vtimezone);
  const epoch = zoned.toUnixTime() * 1000;
  return { wall: epochToWall(epoch, 'UTC'), timeZone: 'UTC', iana: 'UTC', converted: true };
}

const dateTimeTimeZone = (t: GraphTime) => ({ dateTime: wallDateTime(t.wall), timeZone: t.timeZone });

function textOf(component: ICAL.Component, name: string): string {
  const values = component.getAllProperties(name).flatMap((p) => p.getValues());
  return values
    .map((v) => String(v ?? ''))
    .join(', ')
    .trim();
}

function endOf(vevent: ICAL.Component, start: ICAL.Time): ICAL.Time {
  const dtend = vevent.getFirstPropertyValue('dtend') as ICAL.Time | null;
  if (dtend) return dtend;
  const duration = vevent.getFirstPropertyValue('duration') as ICAL.Duration | null;
  const end = start.clone();
  if (duration) end.addDuration(duration);
  // RFC 5545 3.6.1: a DATE start alone lasts one day, a DATE-TIME start alone ends when it starts
  else if (start.isDate) end.day += 1;
  return end;
}

function attendeesOf(vevent: ICAL.Component): SourceAttendee[] {
  return vevent.getAllProperties('attendee').flatMap((prop) => {
    const email = String(prop.getFirstValue() ?? '').replace(/^mailto:/i, '').trim();
    if (!email) return [];
    const attendee: SourceAttendee = { email };
    const name = prop.getParameter('cn');
    if (name) attendee.name = String(name);
    const role = prop.getParameter('role');
    if (role) attendee.role = String(role);
    const status = prop.getParameter('partstat');
    if (status) attendee.status = String(status);
    const kind = prop.getParameter('cutype');
    if (kind) attendee.kind = String(kind);
    return [attendee];
  });
}

function graphAttendee(a: SourceAttendee): Attendee {
  const type: AttendeeType = /ROOM|RESOURCE/i.test(a.kind ?? '') ? 'resource' : /OPT|NON/i.test(a.role ?? '') ? 'optional' : 'required';
  return { emailAddress: { address: a.email, name: a.name ?? a.email }, type };
}

/** What the user reads in the event's body about the meeting's attendees. */
export function attendeeNote(organizer: string | null, attendees: SourceAttendee[]): string {
  const lines = attendees.map((a) => `- ${a.name ? `${a.name} <${a.email}>` : a.email}${a.role || a.status ? ` (${[a.role, a.status].filter(Boolean).join(', ').toLowerCase()})` : ''}`);
  return [
    'Attendees of the original meeting (copied by the migration without sending invitations):',
    ...(organizer ? [`Organizer: ${organizer}`] : []),
    ...lines,
  ].join('\n');
}

function reminderOf(vevent: ICAL.Component): Pick<Event, 'isReminderOn' | 'reminderMinutesBeforeStart'> {
  for (const alarm of vevent.getAllSubcomponents('valarm')) {
    const trigger = alarm.getFirstProperty('trigger');
    const value = trigger?.getFirstValue();
    if (value instanceof ICAL.Duration && String(trigger?.getParameter('related') ?? 'START').toUpperCase() === 'START') {
      const seconds = value.toSeconds();
      if (seconds <= 0) return { isReminderOn: true, reminderMinutesBeforeStart: Math.round(-seconds / 60) };
    }
  }
  return { isReminderOn: false };
}

const SENSITIVITY: Record<string, Sensitivity> = { PUBLIC: 'normal', PRIVATE: 'private', CONFIDENTIAL: 'confidential' };

function importanceOf(priority: number): Importance {
  if (priority >= 1 && priority <= 4) return 'high';
  if (priority >= 6 && priority <= 9) return 'low';
  return 'normal';
}

/** The fields of one VEVENT (master or override) Graph stores on an event or an instance. */
function fieldsOf(vevent: ICAL.Component, zones: Zones, options: EventMappingOptions): { event: Event; start: GraphTime; attendees: SourceAttendee[] } {
  const dtstart = vevent.getFirstProperty('dtstart');
  if (!dtstart) throw new Unmappable('the event has no DTSTART');
  const startTime = dtstart.getFirstValue() as ICAL.Time;
  const allDay = startTime.isDate;
  const start = graphTime(dtstart, zones, allDay);
  const endTime = endOf(vevent, startTime);
  const endProp = vevent.getFirstProperty('dtend');
  let end = timeOf(endTime, (endProp?.getParameter('tzid') as string | undefined) ?? (dtstart.getParameter('tzid') as string | undefined), zones, allDay);
  if (allDay && wallDateTime(end.wall) <= wallDateTime(start.wall)) {
    const next = startTime.clone();
    next.day += 1;
    end = timeOf(next, undefined, zones, true);
  }

  const attendees = attendeesOf(vevent);
  const organizerProp = vevent.getFirstProperty('organizer');
  const organizer = organizerProp
    ? [organizerProp.getParameter('cn'), `<${String(organizerProp.getFirstValue() ?? '').replace(/^mailto:/i, '')}>`].filter(Boolean).join(' ')
    : null;
  const description = textOf(vevent, 'description');
  const withheld = attendees.length > 0 && !options.sendInvitations;
  const content = [description, withheld ? attendeeNote(organizer, attendees) : ''].filter(Boolean).join('\n\n');

  const event: Event = {
    subject: textOf(vevent, 'summary'),
    start: dateTimeTimeZone(start),
    end: dateTimeTimeZone(end),
    isAllDay: allDay,
    ...reminderOf(vevent),
  };
  if (content) event.body = { contentType: 'text', content };
  const location = textOf(vevent, 'location');
  if (location) event.location = { displayName: location };
  const categories = vevent
    .getAllProperties('categories')
    .flatMap((p) => p.getValues().map(String))
    .map((c) => c.trim())
    .filter(Boolean);
  if (categories.length) event.categories = [...new Set(categories)];
  const transparency = String(vevent.getFirstPropertyValue('transp') ?? '').toUpperCase();
  event.showAs = transparency === 'TRANSPARENT' ? 'free' : 'busy';
  const sensitivity = SENSITIVITY[String(vevent.getFirstPropertyValue('class') ?? '').toUpperCase()];
  if (sensitivity) event.sensitivity = sensitivity;
  const priority = Number(vevent.getFirstPropertyValue('priority') ?? 0);
  if (priority) event.importance = importanceOf(priority);
  if (attendees.length && options.sendInvitations) event.attendees = attendees.map(graphAttendee);
  return { event, start, attendees };
}

const recurrenceIdOf = (override: ICAL.Component) => override.getFirstProperty('recurrence-id');

/** The instant an occurrence originally started, the way Graph reports an instance's `originalStart`. */
function originalStart(time: ICAL.Time, tzid: string | undefined, master: GraphTime, zones: Zones): string {
  if (time.isDate) return isoUtc(wallToEpoch({ ...wallOf(time), hour: master.wall.hour, minute: master.wall.minute, second: master.wall.second }, master.iana));
  const t = timeOf(time, tzid ?? undefined, zones, false);
  return isoUtc(wallToEpoch(t.wall, t.iana));
}

/**
 * The RDATE occurrences as events of their own (an override of one replaces
 * its fields; a cancelled override drops it). An RDATE on the series' first
 * start adds nothing.
 */
function rdateOccurrences(master: ICAL.Component, overrides: ICAL.Component[], start: GraphTime, zones: Zones, options: EventMappingOptions, uid: string) {
  const dtstart = master.getFirstProperty('dtstart')!;
  const startTime = dtstart.getFirstValue() as ICAL.Time;
  const length = endOf(master, startTime).subtractDate(startTime);
  const first = originalStart(startTime, dtstart.getParameter('tzid') as string | undefined, start, zones);
  const result: Array<{ at: string; key: string; event: Event | null }> = [];
  for (const prop of master.getAllProperties('rdate')) {
    const tzid = (prop.getParameter('tzid') as string | undefined) ?? (dtstart.getParameter('tzid') as string | undefined);
    for (const value of prop.getValues() as Array<ICAL.Time | ICAL.Period>) {
      const begin = value instanceof ICAL.Period ? value.start : value;
      const end = value instanceof ICAL.Period ? value.getEnd() : begin.clone();
      if (!(value instanceof ICAL.Period)) end.addDuration(length);
      const at = originalStart(begin, tzid, start, zones);
      if (at === first || result.some((r) => r.at === at)) continue;
      const override = overrides.find((o) => {
        const rid = recurrenceIdOf(o)!;
        return originalStart(rid.getFirstValue() as ICAL.Time, rid.getParameter('tzid') as string | undefined, start, zones) === at;
      });
      let event: Event | null;
      if (override) event = String(override.getFirstPropertyValue('status') ?? '').toUpperCase() === 'CANCELLED' ? null : fieldsOf(override, zones, options).event;
      else {
        event = fieldsOf(master, zones, options).event;
        event.start = dateTimeTimeZone(timeOf(begin, tzid, zones, startTime.isDate));
        event.end = dateTimeTimeZone(timeOf(end, tzid, zones, startTime.isDate));
      }
      const key = `${uid} ${at}`;
      if (event) event.singleValueExtendedProperties = [{ id: SOURCE_UID, value: key }];
      result.push({ at, key, event });
    }
  }
  return result;
}

/**
 * Maps one calendar object resource. Anything Graph cannot hold faithfully
 * (a VTODO, RDATE, an unnamed zone on a recurring event, a rule outside
 * Graph's patterns) is refused with the reason: the copy lists it as a bad item.
 */
export function icalToEvent(text: string, uid: string, options: EventMappingOptions = {}): Mapped<MappedEvent> {
  let calendar: ICAL.Component;
  try {
    // Exchange 2010 writes `BYDAY=MO, TU`
    calendar = new ICAL.Component(ICAL.parse(text.replace(/^(RRULE|EXRULE)([;:].*)$/gim, (line) => line.replace(/,\s+/g, ','))));
  } catch (error) {
    return { ok: false, reason: `the iCalendar object cannot be parsed: ${(error as Error).message}` };
  }
  const others = [...new Set(calendar.getAllSubcomponents().map((c) => c.name).filter((n) => !COMPONENTS_GRAPH_HOLDS.has(n)))];
  const vevents = calendar.getAllSubcomponents('vevent');
  if (vevents.length === 0) {
    return { ok: false, reason: `${others.map((o) => o.toUpperCase()).join(', ') || 'an empty calendar'}: Graph events hold VEVENTs only (tasks and journal entries are not migrated)` };
  }
  const zones: Zones = {
    byTzid: new Map(calendar.getAllSubcomponents('vtimezone').map((z) => [String(z.getFirstPropertyValue('tzid')), z])),
    floating: options.floatingTimeZone ?? 'UTC',
  };
  const master = vevents.find((v) => !recurrenceIdOf(v));
  const overrides = vevents.filter((v) => recurrenceIdOf(v));
  try {
    if (!master) throw new Unmappable('only overrides (RECURRENCE-ID) of a recurring event whose master is not in the calendar');
    const mapped = fieldsOf(master, zones, options);
    const { event, start } = mapped;
    const rrules = master.getAllProperties('rrule');
    if (master.getAllProperties('exrule').length) throw new Unmappable('EXRULE has no Graph counterpart');
    if (rrules.length > 1) throw new Unmappable('more than one RRULE: Graph holds one pattern per event');
    const instances: InstanceChange[] = [];
    if (rrules[0]) {
      if (start.converted) throw new Unmappable(`a recurring event in a time zone that has no Windows name (${master.getFirstProperty('dtstart')?.getParameter('tzid')})`);
      const recurrence = recurrenceOf(rrules[0].getFirstValue() as ICAL.Recur, start.wall, start.iana, start.timeZone);
      if (!recurrence.ok) throw new Unmappable(recurrence.reason);
      event.recurrence = recurrence.value;
      for (const exdate of master.getAllProperties('exdate')) {
        for (const value of exdate.getValues() as ICAL.Time[]) {
          instances.push({ originalStart: originalStart(value, (exdate.getParameter('tzid') as string | undefined) ?? undefined, start, zones), patch: null });
        }
      }
      for (const override of overrides) {
        const rid = recurrenceIdOf(override)!;
        const at = originalStart(rid.getFirstValue() as ICAL.Time, rid.getParameter('tzid') as string | undefined, start, zones);
        const cancelled = String(override.getFirstPropertyValue('status') ?? '').toUpperCase() === 'CANCELLED';
        const patch = cancelled ? null : fieldsOf(override, zones, options).event;
        if (patch) delete patch.isAllDay;
        instances.push({ originalStart: at, patch });
      }
    }
    const extras = rdateOccurrences(master, overrides, start, zones, options, uid);
    const rdateStarts = new Set(extras.map((e) => e.at));
    const seriesChanges = instances.filter((i) => !rdateStarts.has(i.originalStart));
    if (!rrules[0] && seriesChanges.length) throw new Unmappable('overrides (RECURRENCE-ID) of an event that does not repeat');
    const attendees = mapped.attendees;
    if (attendees.length && !options.sendInvitations) event.singleValueExtendedProperties = [{ id: ATTENDEES, value: JSON.stringify(attendees) }];
    event.singleValueExtendedProperties = [{ id: SOURCE_UID, value: uid }, ...(event.singleValueExtendedProperties ?? [])];
    return {
      ok: true,
      value: { uid, summary: event.subject || uid, event, instances: seriesChanges, extras: extras.flatMap((e) => (e.event ? [{ key: e.key, event: e.event }] : [])), attendees },
    };
  } catch (error) {
    if (error instanceof Unmappable) return { ok: false, reason: error.message };
    return { ok: false, reason: `the event cannot be read: ${(error as Error).message}` };
  }
}
