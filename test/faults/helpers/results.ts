/** One JSON file per fault under test-artifacts/faults/results; report.ts turns them into the table. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR, writeArtifact } from './env';

export interface FaultResult {
  fault: string;
  injected: number;
  batchesFinished: number;
  messagesVerified: number;
  lost: number;
  duplicated: number;
  /** flags or internal date differ although the bytes match */
  different: number;
  contactsEventsVerified: number;
  seed?: number;
  notes: string[];
}

export function recordFault(result: FaultResult): void {
  writeArtifact(join('results', `${result.fault.replace(/[^a-z0-9-]+/gi, '-')}.json`), JSON.stringify(result, null, 2));
}

export function readFaultResults(): FaultResult[] {
  let files: string[] = [];
  try {
    files = readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.sort().map((f) => JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8')) as FaultResult);
}
