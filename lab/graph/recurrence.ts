/**
 * The stand-in's reading of a Graph `patternedRecurrence`: the occurrences it
 * stands for, written from Graph's documentation of each pattern and range
 * type (recurrencePattern, recurrenceRange), independently of the connector's
 * RRULE mapping, so a test that expands both sides compares two readings.
 * Day by day: slow for long series, plain to check.
 */
import type { DayOfWeek, PatternedRecurrence } from '@microsoft/microsoft-graph-types';
import type { Wall } from '../../connectors/m365/pim/timezones';

const DAYS: DayOfWeek[] = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const INDEX = { first: 1, second: 2, third: 3, fourth: 4, last: -1 } as const;
const DAY_MS = 86_400_000;

const dayNumber = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) / DAY_MS;
const fromDayNumber = (n: number) => {
  const d = new Date(n * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay() };
};

/** whether day `n` is the `index`-th of the days of its month whose weekday is in `days` */
function isIndexed(n: number, days: Set<number>, index: number): boolean {
  const { year, month } = fromDayNumber(n);
  const matching: number[] = [];
  for (let d = dayNumber(year, month, 1); fromDayNumber(d).month === month; d++) if (days.has(fromDayNumber(d).weekday)) matching.push(d);
  return (index > 0 ? matching[index - 1] : matching[matching.length - 1]) === n;
}

/**
 * The start (wall clock, in the series' zone) of every occurrence from the
 * range's start date to `untilDate` (YYYY-MM-DD, inclusive) or the range's end.
 */
export function occurrences(recurrence: PatternedRecurrence, startTime: Wall, untilDate: string): Wall[] {
  const { pattern, range } = recurrence;
  if (!pattern?.type || !range?.startDate) throw new Error('a recurrence without pattern type or range start');
  const [sy, sm, sd] = range.startDate.split('-').map(Number) as [number, number, number];
  const first = dayNumber(sy, sm, sd);
  const [uy, um, ud] = (range.type === 'endDate' && range.endDate && range.endDate < untilDate ? range.endDate : untilDate).split('-').map(Number) as [number, number, number];
  const last = dayNumber(uy, um, ud);
  const interval = pattern.interval ?? 1;
  const days = new Set((pattern.daysOfWeek ?? []).map((d) => DAYS.indexOf(d as DayOfWeek)));
  const index = INDEX[(pattern.index ?? 'first') as keyof typeof INDEX];
  const fdow = DAYS.indexOf((pattern.firstDayOfWeek ?? 'sunday') as DayOfWeek);
  const weekStart = (n: number) => n - ((fromDayNumber(n).weekday - fdow + 7) % 7);
  const s = fromDayNumber(first);
  const result: Wall[] = [];
  for (let n = first; n <= last; n++) {
    const d = fromDayNumber(n);
    const months = (d.year - s.year) * 12 + (d.month - s.month);
    let hit: boolean;
    switch (pattern.type) {
      case 'daily':
        hit = (n - first) % interval === 0;
        break;
      case 'weekly':
        hit = days.has(d.weekday) && ((weekStart(n) - weekStart(first)) / 7) % interval === 0;
        break;
      case 'absoluteMonthly':
        hit = d.day === pattern.dayOfMonth && months % interval === 0;
        break;
      case 'relativeMonthly':
        hit = months % interval === 0 && days.has(d.weekday) && isIndexed(n, days, index);
        break;
      case 'absoluteYearly':
        hit = d.month === pattern.month && d.day === pattern.dayOfMonth && (d.year - s.year) % interval === 0;
        break;
      case 'relativeYearly':
        hit = d.month === pattern.month && (d.year - s.year) % interval === 0 && days.has(d.weekday) && isIndexed(n, days, index);
        break;
      default:
        throw new Error(`unknown recurrence pattern ${pattern.type}`);
    }
    if (!hit) continue;
    result.push({ year: d.year, month: d.month, day: d.day, hour: startTime.hour, minute: startTime.minute, second: startTime.second });
    if (range.type === 'numbered' && result.length >= (range.numberOfOccurrences ?? 0)) break;
  }
  return result;
}
