/**
 * One JSON file per fault under test-artifacts/faults/results; report.ts turns
 * them into the table. A row is written only by `recordVerified`, after its own
 * verification ran, with that verification's verdict.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR, writeArtifact } from './env';
import type { FleetVerification } from './fleet';

/** What the verifier found on the rows' own mailboxes (lab/verify.ts, connectors/dav/verify.ts). */
export interface MailFigures {
  batchesFinished: number;
  messagesVerified: number;
  lost: number;
  duplicated: number;
  /** flags or internal date differ although the bytes match */
  different: number;
  contactsEventsVerified: number;
}

export interface FaultRow {
  fault: string;
  /** how many times the fault was delivered, counted where it was delivered */
  injected: number;
  /** how `injected` was counted, in a few words */
  injectedHow: string;
  /** absent for a fault that cannot lose mail (the table shows n/a) */
  mail?: MailFigures;
  /** the row's own figures when it has no mail to verify (files refused by code, strings scanned…) */
  figures?: string;
  seed?: number;
  notes: string[];
}

export interface FaultResult extends FaultRow {
  /** 'passed', or the first line of the failed assertion */
  verification: string;
}

export function mailFigures(batchesFinished: number, v: FleetVerification): MailFigures {
  return {
    batchesFinished,
    messagesVerified: v.messagesVerified,
    lost: v.lost,
    duplicated: v.duplicated,
    different: v.different,
    contactsEventsVerified: v.contactsEventsVerified,
  };
}

/** The assertion's headline and, for a jest diff, its first received line: enough to read in the table's notes. */
function firstLines(failure: unknown): string {
  const lines = (failure instanceof Error ? failure.message : String(failure))
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .filter((l) => l.trim());
  const received = lines.find((l) => /^\s*\+\s+\S/.test(l) && !/^\s*\+ Received|[[{]$/.test(l));
  return [lines[0] ?? 'failed', received?.trim()].filter(Boolean).join(' | ');
}

/**
 * Runs the row's own assertions, then writes the row with their verdict (so the
 * table never shows a row whose check did not run) and rethrows a failure.
 */
export async function recordVerified(row: FaultRow, verify: () => void | Promise<void>): Promise<void> {
  let failure: unknown;
  try {
    await verify();
  } catch (err) {
    failure = err;
  }
  const verdict = failure === undefined ? 'passed' : `FAILED: ${firstLines(failure)}`;
  const result: FaultResult = { ...row, verification: verdict };
  writeArtifact(join('results', `${row.fault.replace(/[^a-z0-9-]+/gi, '-')}.json`), JSON.stringify(result, null, 2));
  if (failure !== undefined) throw failure;
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
