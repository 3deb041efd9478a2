/**
 * A cross-process lock for files several test workers edit at once (the
 * on-prem passwd-file): `mkdir` is atomic, and a lock older than `staleMs`
 * is taken to belong to a process that died holding it.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from './config';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function withLock<T>(name: string, fn: () => Promise<T> | T, staleMs = 30000): Promise<T> {
  mkdirSync(paths.locks, { recursive: true });
  const dir = join(paths.locks, `${name}.lock`);
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(dir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(dir).mtimeMs > staleMs) rmSync(dir, { recursive: true, force: true });
      } catch {
        // released between our mkdir and stat: try again
      }
      await sleep(Math.min(200, 5 + attempt * 5));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
