/**
 * Where the fault suite runs and what it leaves behind. The suite kills and
 * freezes servers, so it refuses to start unless scripts/test-faults.sh (or
 * the caller) pointed it at a lab and a Temporal server of its own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/backbone';

export const ARTIFACTS = join(ROOT, 'test-artifacts', 'faults');
export const LOG_DIR = join(ARTIFACTS, 'logs');
export const RESULTS_DIR = join(ARTIFACTS, 'results');

export class SharedServersError extends Error {
  readonly code = 'FAULTS_NOT_ISOLATED';
  constructor(what: string) {
    super(`The fault suite kills servers and must not run against the shared ${what}: run it with \`npm run test:faults\``);
    this.name = 'SharedServersError';
  }
}

/** The state directory of the suite's own Temporal server (pid, dev.db) and reports. */
export function stateDir(): string {
  const dir = process.env.MAILFERRY_STATE_DIR;
  const lab = process.env.MAILFERRY_LAB_DIR;
  if (!lab || lab.endsWith('/.lab')) throw new SharedServersError('lab (set MAILFERRY_LAB_DIR)');
  if (!dir || dir.endsWith('/.state')) throw new SharedServersError('state directory (set MAILFERRY_STATE_DIR)');
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  if (address.endsWith(':7233')) throw new SharedServersError('Temporal dev server (set TEMPORAL_ADDRESS)');
  return dir;
}

export function writeArtifact(relative: string, content: string): string {
  const path = join(ARTIFACTS, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}
