/**
 * Contacts (vCard 3.0) and events (iCalendar) with what calendar copies get
 * wrong: recurrence rules, a moved occurrence (RECURRENCE-ID), time zones with
 * their VTIMEZONE, all-day events, attendees, non-ASCII names.
 */
import type { Rng } from './rng';
import { COMPANIES, EXTERNAL_DOMAINS, asciiLocal, personName, sentence } from './text';

export interface PimItem {
  uid: string;
  /** the file name in the collection, e.g. `<uid>.vcf` */
  href: string;
  text: string;
}

const crlf = (lines: string[]) => `${lines.join('\r\n')}\r\n`;
const escapeText = (s: string) => s.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\n/g, '\\n');

export function contacts(rng: Rng, count: number): PimItem[] {
  const items: PimItem[] = [];
  for (let i = 0; i < count; i++) {
    const r = rng.derive(`contact/${i}`);
    const { first, last } = personName(r);
    const uid = `mf-contact-${r.hex(20)}`;
    const email = `${asciiLocal(first, last)}${i}@${r.pick(EXTERNAL_DOMAINS)}`;
    const lines = [
      'BEGIN:VCARD',
      'VERSION:3.0',
      `UID:${uid}`,
      `FN:${escapeText(`${first} ${last}`)}`,
      `N:${escapeText(last)};${escapeText(first)};;;`,
      `EMAIL;TYPE=INTERNET,WORK:${email}`,
      ...(r.chance(0.3) ? [`EMAIL;TYPE=INTERNET,HOME:${asciiLocal(first, last)}@home.test`] : []),
      `TEL;TYPE=WORK,VOICE:+34 91 555 ${String(r.int(0, 9999)).padStart(4, '0')}`,
      `ORG:${escapeText(r.pick(COMPANIES))}`,
      ...(r.chance(0.5) ? [`TITLE:${escapeText(r.pick(['Buyer', 'Engineer', 'Director of Sales', 'Pilot, instructor']))}`] : []),
      ...(r.chance(0.3) ? [`NOTE:${escapeText(sentence(r))}`] : []),
      `REV:2026-0${r.int(1, 9)}-1${r.int(0, 9)}T10:00:00Z`,
      'END:VCARD',
    ];
    items.push({ uid, href: `${uid}.vcf`, text: crlf(lines) });
  }
  return items;
}

const MADRID = [
  'BEGIN:VTIMEZONE',
  'TZID:Europe/Madrid',
  'BEGIN:DAYLIGHT',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0200',
  'TZNAME:CEST',
  'DTSTART:19700329T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
  'END:DAYLIGHT',
  'BEGIN:STANDARD',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'TZNAME:CET',
  'DTSTART:19701025T030000',
  'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
  'END:STANDARD',
  'END:VTIMEZONE',
];

const pad = (n: number) => String(n).padStart(2, '0');
const local = (d: Date) => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}00`;
const dateOnly = (d: Date) => local(d).slice(0, 8);

type EventShape = 'timed' | 'all-day' | 'recurring' | 'utc' | 'meeting';

export function events(rng: Rng, owner: string, count: number): PimItem[] {
  const items: PimItem[] = [];
  for (let i = 0; i < count; i++) {
    const r = rng.derive(`event/${i}`);
    const uid = `mf-event-${r.hex(20)}`;
    // the first events cover every shape, so even a small calendar has them all
    const shapes: EventShape[] = ['recurring', 'meeting', 'all-day', 'utc', 'timed'];
    const shape = i < shapes.length ? shapes[i] : r.pick(shapes);
    // wall-clock time held in a Date's UTC fields
    const start = new Date(Date.UTC(2026, r.int(0, 11), r.int(1, 28), r.int(8, 17), r.pick([0, 30])));
    const end = new Date(start.getTime() + r.pick([30, 60, 90]) * 60000);
    const summary = escapeText(shape === 'recurring' ? `Weekly sync – ${r.pick(['équipe', 'hangar', 'sales'])}` : sentence(r, 2, 5).slice(0, -1));
    const stamp = 'DTSTAMP:20261101T090000Z';
    const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//mailferry//lab seed//EN', 'CALSCALE:GREGORIAN'];
    const tz = shape === 'timed' || shape === 'recurring' || shape === 'meeting';
    if (tz) lines.push(...MADRID);
    const event = ['BEGIN:VEVENT', `UID:${uid}`, stamp, `SUMMARY:${summary}`];
    if (shape === 'all-day') {
      event.push(`DTSTART;VALUE=DATE:${dateOnly(start)}`, `DTEND;VALUE=DATE:${dateOnly(new Date(start.getTime() + 86400000))}`);
    } else if (shape === 'utc') {
      event.push(`DTSTART:${local(start)}Z`, `DTEND:${local(end)}Z`);
    } else {
      event.push(`DTSTART;TZID=Europe/Madrid:${local(start)}`, `DTEND;TZID=Europe/Madrid:${local(end)}`);
    }
    if (shape === 'meeting' || shape === 'recurring') {
      event.push(`ORGANIZER;CN=${escapeText(owner)}:mailto:${owner}`);
      for (let a = r.int(1, 3); a > 0; a--) {
        const p = personName(r);
        event.push(`ATTENDEE;CN="${p.first} ${p.last}";ROLE=REQ-PARTICIPANT;PARTSTAT=${r.pick(['ACCEPTED', 'TENTATIVE', 'NEEDS-ACTION'])}:mailto:${asciiLocal(p.first, p.last)}@${r.pick(EXTERNAL_DOMAINS)}`);
      }
    }
    if (r.chance(0.3)) event.push(`LOCATION:${escapeText(r.pick(['Sala Málaga', 'Hangar 2', 'Teams', 'Room 4.01, Zürich']))}`);
    if (shape === 'recurring') {
      event.push('RRULE:FREQ=WEEKLY;COUNT=10');
      event.push('END:VEVENT');
      // the third occurrence moved by two hours: an exception with RECURRENCE-ID
      const third = new Date(start.getTime() + 14 * 86400000);
      const moved = new Date(third.getTime() + 2 * 3600000);
      event.push(
        'BEGIN:VEVENT',
        `UID:${uid}`,
        stamp,
        `RECURRENCE-ID;TZID=Europe/Madrid:${local(third)}`,
        `SUMMARY:${summary} (moved)`,
        `DTSTART;TZID=Europe/Madrid:${local(moved)}`,
        `DTEND;TZID=Europe/Madrid:${local(new Date(moved.getTime() + end.getTime() - start.getTime()))}`,
        'END:VEVENT',
      );
    } else event.push('END:VEVENT');
    lines.push(...event, 'END:VCALENDAR');
    items.push({ uid, href: `${uid}.ics`, text: crlf(lines) });
  }
  return items;
}
