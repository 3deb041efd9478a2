/** `--start-after` / `--complete-after`: an ISO date-time or a duration from now (`90s`, `15m`, `2h`, `1d`). */
import { InvalidArgumentError } from 'commander';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseWhen(value: string, now: Date = new Date()): string {
  const duration = /^(\d+)([smhd])$/.exec(value.trim());
  if (duration) return new Date(now.getTime() + Number(duration[1]) * UNIT_MS[duration[2]]).toISOString();
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new InvalidArgumentError('expected an ISO date-time (2026-12-05T22:00:00Z) or a duration (90s, 15m, 2h, 1d)');
  return new Date(at).toISOString();
}
