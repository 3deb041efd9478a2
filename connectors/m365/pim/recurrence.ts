/**
 * An RRULE as Graph's `patternedRecurrence`. Graph knows six patterns (daily,
 * weekly, absolute/relative monthly and yearly) and three ranges (no end, an
 * end date, a number of occurrences); a rule outside them (hourly, BYWEEKNO,
 * a fifth Sunday, two month days…) cannot be written faithfully and is
 * refused with the reason, never approximated.
 */
import type { DayOfWeek, PatternedRecurrence, RecurrencePattern, RecurrenceRange, WeekIndex } from '@microsoft/microsoft-graph-types';
import type ICAL from 'ical.js';
import { epochToWall, wallDate, type Wall } from './timezones';
import type { Mapped } from './vcard';

const DAYS: Record<string, DayOfWeek> = { SU: 'sunday', MO: 'monday', TU: 'tuesday', WE: 'wednesday', TH: 'thursday', FR: 'friday', SA: 'saturday' };
const DAY_ORDER: DayOfWeek[] = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const INDEX: Record<string, WeekIndex> = { '1': 'first', '2': 'second', '3': 'third', '4': 'fourth', '-1': 'last' };
/** parts Graph's patterns have no room for */
const UNSUPPORTED_PARTS = ['BYSECOND', 'BYMINUTE', 'BYHOUR', 'BYYEARDAY', 'BYWEEKNO'];

const weekdayOf = (w: Wall) => DAY_ORDER[new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay()]!;

interface ByDay {
  index: WeekIndex | null;
  day: DayOfWeek;
}

function parseByDay(values: string[]): ByDay[] | string {
  const result: ByDay[] = [];
  for (const raw of values) {
    const m = /^([+-]?\d{1,2})?([A-Z]{2})$/.exec(raw.trim().toUpperCase());
    const day = m && DAYS[m[2]!];
    if (!m || !day) return `BYDAY=${raw} is not a day`;
    const n = m[1] ? String(Number(m[1])) : null;
    if (n !== null && !INDEX[n]) return `BYDAY=${raw}: Graph has only the first to fourth and the last weekday of a month`;
    result.push({ index: n === null ? null : INDEX[n]!, day });
  }
  return result;
}

/** `until`: the rule's UNTIL; `zone`: the IANA zone of the event's start, to tell UNTIL's date there */
export function recurrenceOf(rule: ICAL.Recur, start: Wall, zone: string | null, timeZone: string): Mapped<PatternedRecurrence> {
  const parts = rule.parts as Record<string, Array<string | number> | undefined>;
  const bad = (why: string): Mapped<PatternedRecurrence> => ({ ok: false, reason: `RRULE ${rule.toString()}: ${why}` });
  for (const part of UNSUPPORTED_PARTS) if (parts[part]?.length) return bad(`${part} has no Graph counterpart`);
  const interval = rule.interval ?? 1;
  const byDay = parseByDay((parts.BYDAY ?? []).map(String));
  if (typeof byDay === 'string') return bad(byDay);
  const byMonth = (parts.BYMONTH ?? []).map(Number);
  const byMonthDay = (parts.BYMONTHDAY ?? []).map(Number);
  const bySetPos = (parts.BYSETPOS ?? []).map(Number);
  if (byMonth.length > 1) return bad('Graph repeats in one month of the year only');
  if (byMonthDay.length > 1 || byMonthDay.some((d) => d < 1)) return bad('Graph repeats on one day of the month, counted from its start');
  if (bySetPos.length > 1) return bad('Graph takes one BYSETPOS');
  const setIndex = bySetPos.length ? INDEX[String(bySetPos[0])] : null;
  if (bySetPos.length && !setIndex) return bad(`BYSETPOS=${bySetPos[0]} is not the first to fourth or the last`);
  const wkst = (rule as unknown as { wkst?: number }).wkst;
  const firstDayOfWeek: DayOfWeek = wkst ? DAY_ORDER[wkst - 1]! : 'monday';

  let pattern: RecurrencePattern;
  const relative = () => {
    const indexes = new Set(byDay.map((d) => d.index ?? setIndex ?? 'first'));
    if (indexes.size > 1) return null;
    if (byDay.some((d) => d.index === null) && !setIndex && byDay.length > 0) return null;
    return { daysOfWeek: byDay.map((d) => d.day), index: [...indexes][0]! };
  };
  switch (rule.freq) {
    case 'DAILY':
      if (byMonth.length || byMonthDay.length || bySetPos.length) return bad('a daily rule limited to months or month days');
      if (byDay.length === 0) pattern = { type: 'daily', interval };
      // what Outlook itself writes for "every weekday"
      else if (interval === 1 && byDay.every((d) => d.index === null)) pattern = { type: 'weekly', interval: 1, daysOfWeek: byDay.map((d) => d.day), firstDayOfWeek };
      else return bad('a daily rule on given weekdays every few days');
      break;
    case 'WEEKLY':
      if (byMonth.length || byMonthDay.length || bySetPos.length || byDay.some((d) => d.index !== null)) return bad('a weekly rule limited to months, month days or positions');
      pattern = { type: 'weekly', interval, daysOfWeek: byDay.length ? byDay.map((d) => d.day) : [weekdayOf(start)], firstDayOfWeek };
      break;
    case 'MONTHLY': {
      if (byMonth.length) return bad('a monthly rule limited to months');
      if (byDay.length === 0) pattern = { type: 'absoluteMonthly', interval, dayOfMonth: byMonthDay[0] ?? start.day };
      else {
        const rel = !byMonthDay.length && relative();
        if (!rel) return bad('weekdays of a month at different positions');
        pattern = { type: 'relativeMonthly', interval, ...rel, firstDayOfWeek };
      }
      break;
    }
    case 'YEARLY': {
      const month = byMonth[0] ?? start.month;
      if (byDay.length === 0) pattern = { type: 'absoluteYearly', interval, month, dayOfMonth: byMonthDay[0] ?? start.day };
      else {
        const rel = !byMonthDay.length && relative();
        if (!rel || !byMonth.length) return bad('weekdays of a year without a month, or at different positions');
        pattern = { type: 'relativeYearly', interval, month, ...rel, firstDayOfWeek };
      }
      break;
    }
    default:
      return bad(`FREQ=${rule.freq}: Graph repeats daily at most`);
  }

  const range: RecurrenceRange = { type: 'noEnd', startDate: wallDate(start), recurrenceTimeZone: timeZone };
  if (rule.count) Object.assign(range, { type: 'numbered', numberOfOccurrences: rule.count });
  else if (rule.until) {
    const until = rule.until;
    const utc = until.zone?.tzid === 'UTC' && !until.isDate;
    const wall = utc && zone ? epochToWall(until.toUnixTime() * 1000, zone) : until;
    Object.assign(range, { type: 'endDate', endDate: wallDate(wall) });
  }
  return { ok: true, value: { pattern, range } };
}
