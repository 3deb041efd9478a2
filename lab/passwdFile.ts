/**
 * Edits passwd-style files (the on-prem Dovecot passwd-file, Radicale's
 * htpasswd) under a lock, replacing them by rename so a reader never sees
 * half a line.
 *
 * Dovecot re-reads a passwd-file when its mtime (whole seconds) or size
 * changed, checking at most once per second. So every write moves the mtime
 * strictly forward (two writes in one second of equal size would otherwise
 * look unchanged), and `waitUntilReloadable` waits out the current second.
 */
import { existsSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { withLock } from './lock';

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

let lastWriteMs = 0;

function save(file: string, kept: string[]): void {
  const previous = existsSync(file) ? Math.floor(statSync(file).mtimeMs / 1000) : 0;
  const mtime = Math.max(Math.floor(Date.now() / 1000), previous + 1);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, kept.map((l) => `${l}\n`).join(''), { mode: 0o600 });
  utimesSync(tmp, mtime, mtime);
  renameSync(tmp, file);
  lastWriteMs = Date.now();
}

/** Resolves once Dovecot's next lookup is sure to see this process's last write (at most ~1 s). */
export async function waitUntilReloadable(): Promise<void> {
  const ready = (Math.floor(lastWriteMs / 1000) + 1) * 1000 + 20;
  const wait = ready - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

const userOf = (line: string) => line.slice(0, line.indexOf(':'));

/** adds or replaces the line of `user`; `line` is a complete passwd-file line */
export function upsertUser(file: string, user: string, line: string): Promise<void> {
  return withLock('passwd', () => save(file, [...lines(file).filter((l) => userOf(l) !== user), line.trimEnd()]));
}

/** adds or replaces many users in one write (the benchmark creates 1,000 at once) */
export function upsertUsers(file: string, entries: Array<{ user: string; line: string }>): Promise<void> {
  const users = new Set(entries.map((e) => e.user));
  return withLock('passwd', () => save(file, [...lines(file).filter((l) => !users.has(userOf(l))), ...entries.map((e) => e.line.trimEnd())]));
}

export function removeUsers(file: string, shouldRemove: (user: string) => boolean): Promise<void> {
  return withLock('passwd', () => save(file, lines(file).filter((l) => !shouldRemove(userOf(l)))));
}
