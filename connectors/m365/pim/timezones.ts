/**
 * Time zones between iCalendar (IANA names, or whatever a client wrote in its
 * VTIMEZONE) and Graph (Windows names), through windows-iana's copy of the
 * CLDR mapping. A TZID that names no zone is matched by its VTIMEZONE's UTC
 * offsets over the event's year, the way Outlook itself reads such files.
 */
import ICAL from 'ical.js';
import { findIana, findWindows, WINDOWS_TO_IANA_MAP } from 'windows-iana';

/** A wall-clock time, without a zone. */
export interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export const wallDate = (w: Wall) => `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
/** Graph's dateTimeTimeZone.dateTime spelling */
export const wallDateTime = (w: Wall) => `${wallDate(w)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;

export function parseWall(text: string): Wall {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(text);
  if (!m) throw new Error(`not a date-time: ${text}`);
  return { year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: +(m[4] ?? 0), minute: +(m[5] ?? 0), second: +(m[6] ?? 0) };
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset, in minutes, at an instant. */
export function offsetAt(iana: string, epochMs: number): number {
  let format = offsetFormats.get(iana);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: iana, timeZoneName: 'longOffset' });
    offsetFormats.set(iana, format);
  }
  const name = format.formatToParts(new Date(epochMs)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (+m[2]! * 60 + +m[3]!) : 0;
}

/** The instant a wall-clock time in `iana` stands for (the earlier one in a DST overlap). */
export function wallToEpoch(w: Wall, iana: string): number {
  const naive = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  const first = naive - offsetAt(iana, naive) * 60_000;
  return naive - offsetAt(iana, first) * 60_000;
}

export function epochToWall(epochMs: number, iana: string): Wall {
  const d = new Date(epochMs + offsetAt(iana, epochMs) * 60_000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
}

/** The IANA zone Graph's name stands for: `UTC`, a Windows name, or an IANA name Graph also accepts. */
export function ianaOf(graphZone: string): string | null {
  if (/^(UTC|GMT|Etc\/UTC)$/i.test(graphZone)) return 'UTC';
  const fromWindows = findIana(graphZone)[0];
  if (fromWindows) return fromWindows;
  return findWindows(graphZone).length > 0 ? graphZone : null;
}

/** A TZID that already is a Windows or an IANA name (also inside a vendor prefix: `/mozilla.org/…/Europe/Berlin`, `custom_America/New_York`). */
function byName(tzid: string): string | null {
  const name = tzid.replace(/^"|"$/g, '').trim();
  if (/^(UTC|GMT|Z|Etc\/UTC|Etc\/GMT|Coordinated Universal Time)$/i.test(name)) return 'UTC';
  if (findIana(name).length > 0) return name;
  const windows = findWindows(name)[0];
  if (windows) return windows;
  for (const match of name.matchAll(/[A-Z][A-Za-z_+-]*(?:\/[A-Za-z0-9_+-]+)+/g)) {
    const segments = match[0].split('/');
    for (let i = 0; i < segments.length - 1; i++) {
      const candidate = findWindows(segments.slice(i).join('/'))[0];
      if (candidate) return candidate;
    }
  }
  return null;
}

const SAMPLE_MONTHS = Array.from({ length: 12 }, (_, i) => i + 1);

/**
 * The Windows zone whose offsets equal the VTIMEZONE's at the 1st and 15th of
 * every month of `year` (noon, away from any transition). Zones with the same
 * offsets all year are the same for the events of that year.
 */
function byOffsets(vtimezone: ICAL.Component, year: number): string | null {
  const zone = new ICAL.Timezone(vtimezone);
  const samples = SAMPLE_MONTHS.flatMap((month) => [1, 15].map((day) => ({ year, month, day, hour: 12, minute: 0, second: 0 })));
  const wanted = samples.map((w) => zone.utcOffset(ICAL.Time.fromData({ ...w, isDate: false })) / 60);
  for (const { windowsName, territory, iana: [iana] } of WINDOWS_TO_IANA_MAP) {
    if (territory !== '001' || !iana) continue;
    if (samples.every((w, i) => offsetAt(iana, Date.UTC(w.year, w.month - 1, w.day, w.hour) - wanted[i]! * 60_000) === wanted[i])) return windowsName;
  }
  return null;
}

export type ZoneResolution = { windows: string; how: 'name' | 'offsets' } | { windows: null; reason: string };

/** Graph's (Windows) name for an iCalendar TZID, from its name, else from its VTIMEZONE's offsets in `year`. */
export function resolveTzid(tzid: string, vtimezone: ICAL.Component | null, year: number): ZoneResolution {
  const named = byName(tzid);
  if (named) return { windows: named, how: 'name' };
  if (!vtimezone) return { windows: null, reason: `the time zone "${tzid}" is neither an IANA nor a Windows name and the item carries no VTIMEZONE for it` };
  const matched = byOffsets(vtimezone, year);
  if (matched) return { windows: matched, how: 'offsets' };
  return { windows: null, reason: `the time zone "${tzid}" is neither an IANA nor a Windows name, and no Windows zone has its VTIMEZONE's offsets in ${year}` };
}
