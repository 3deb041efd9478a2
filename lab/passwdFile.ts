/**
 * Edits the on-prem Dovecot passwd-file. Dovecot re-reads the file when its
 * mtime changes, so a user added here can log in at once; the file is
 * replaced by rename so Dovecot never reads half a line.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { withLock } from './lock';

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

function save(file: string, kept: string[]): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, kept.map((l) => `${l}\n`).join(''), { mode: 0o600 });
  renameSync(tmp, file);
}

const userOf = (line: string) => line.slice(0, line.indexOf(':'));

/** adds or replaces the line of `user`; `line` is a complete passwd-file line */
export function upsertUser(file: string, user: string, line: string): Promise<void> {
  return withLock('passwd', () => save(file, [...lines(file).filter((l) => userOf(l) !== user), line.trimEnd()]));
}

export function removeUsers(file: string, shouldRemove: (user: string) => boolean): Promise<void> {
  return withLock('passwd', () => save(file, lines(file).filter((l) => !shouldRemove(userOf(l)))));
}
