/**
 * Every password the suite puts in a CSV is made here and remembered (in the
 * suite's own state directory, never in the artifacts), so the final scan
 * knows exactly which strings must not appear anywhere.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from './env';

const registry = () => join(stateDir(), 'csv-passwords.txt');

/** a distinctive password (long enough that a hit in the scan is never a coincidence) */
export function csvPassword(): string {
  const password = `Csv!${randomBytes(9).toString('base64url')}-9z`;
  appendFileSync(registry(), `${password}\n`);
  return password;
}

export function usedCsvPasswords(): string[] {
  try {
    return readFileSync(registry(), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
