/**
 * The ledger at scale: N mailbox records (default 50,000) created in bulk
 * with the ledger's own signal-with-start, as many batches would leave them, then the three
 * reads an admin runs against them, timed: `batch status`, the re-run plan
 * of a 1,000-row CSV (`batch start --dry-run`) and `reports consolidated`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchStatus, dryRun, startBatch } from '../client/batch';
import { consolidatedRows } from '../activities/consolidated';
import { createTemporalLedger } from '../connectors/ledger/temporal';
import { defaultPayloadConverter } from '@temporalio/common';
import type { LabInfo } from '../lab/info';
import { MailferryBatch, MailferryOrg } from '../shared/searchAttributes';
import { mapLimit } from '../shared/mapLimit';
import { RECORD_WORKFLOW_TYPE, type BatchRow, type MailboxOutcome } from '../shared/domain';
import { benchOrganisation, benchSession, csvFor, startWorker } from './mailferry';
import type { Session } from '../client/connection';

export interface RecordsResult {
  /** the largest payloads at 1,000 rows × 50 folders (see largestPayloads) */
  payloads: { batchCarriedBytes: number; recordBytes: number };
  records: number;
  createSeconds: number;
  batchStatusSeconds: number;
  rerunPlanRows: number;
  rerunPlanSeconds: number;
  consolidatedRows: number;
  consolidatedSeconds: number;
}

const seconds = (since: number) => (Date.now() - since) / 1000;

/** signal-with-starts in flight while the records are created: the dev server's SQLite takes them one at a time anyway */
const CREATE_CONCURRENCY = 64;

/**
 * The largest payloads at 1,000 rows × 50 folders, encoded as Temporal would
 * (before the codec): the batch's continue-as-new input (rows carry no
 * checkpoint: the record keeps it) and a record's state with one mailbox's
 * 50-folder checkpoint.
 */
export function largestPayloads(rows = 1000, folders = 50): { batchCarriedBytes: number; recordBytes: number } {
  const checkpoint = {
    folders: Object.fromEntries(
      Array.from({ length: folders }, (_, f) => [
        `Archive/${2000 + f}/Projects ${f}`,
        { uidValidity: '1764547200', lastUid: 123456, done: true },
      ]),
    ),
  };
  const sealed = (n: number) => `sealed:v1:default:${'A'.repeat(n)}`;
  const addresses = Array.from({ length: rows }, (_, i) => `mailbox.number.${i}@tailspintoys.com`);
  const copy = { messagesCopied: 12345, bytesCopied: 987654321, messagesExisting: 12, badItems: 0, contactsCopied: 40, eventsCopied: 80 };
  const batchRows = addresses.map((address, i): BatchRow => ({
    line: i + 2,
    address,
    plan: { kind: 'resume', from: 'copyData' },
    state: 'completed',
    step: 'copyData',
    copy,
    forceChangePassword: false,
    password: sealed(40),
    previousTargetAddress: `SMTP:${address}`,
  }));
  const input = {
    org: 'tailspintoys',
    batch: 1,
    source: { kind: 'csv', fileName: 'batch.csv', csv: '' },
    carried: { phase: 'copying', rows: batchRows, rejected: [], reports: [], mail: [], adaptiveLog: [] },
  };
  const record = { org: 'tailspintoys', address: addresses[0], batches: [1, 2, 3], outcome: { ...outcomeOf(addresses[0], 1), checkpoint } };
  const size = (v: unknown) => defaultPayloadConverter.toPayload(v)?.data?.length ?? 0;
  return { batchCarriedBytes: size(input), recordBytes: size({ carried: record }) };
}

function outcomeOf(address: string, i: number): MailboxOutcome {
  const failed = i % 10 === 0;
  return {
    address,
    batch: 1 + (i % 50),
    state: failed ? 'failed' : 'completed',
    lastCompletedStep: failed ? 'setTargetAddress' : 'copyData',
    ...(failed ? { failedStep: 'copyData' as const, error: { code: 'COPY_FAILED', message: 'bench', fix: 'Resume the row.' } } : {}),
    copy: { messagesCopied: 100, bytesCopied: 1e6, messagesExisting: 0, badItems: 0, contactsCopied: 1, eventsCopied: 1 },
    previousTargetAddress: null,
    forceChangePassword: false,
  };
}

export async function recordsBench(info: LabInfo, count: number, log: (m: string) => void): Promise<RecordsResult> {
  const worker = await startWorker(info);
  const session = await benchSession(info);
  try {
    const org = await benchOrganisation(session, 'bench-records', 3);
    const addresses = Array.from({ length: count }, (_, i) => `rec${String(i).padStart(6, '0')}@tailspintoys.com`);
    // Written as mailbox runs write them (the ledger's signal-with-start, which starts a record listed with its
    // outcome), on a task queue no worker polls: the bench's worker ran the records' first tasks at about 5 a
    // second on this shared machine (937 of 3,000 in 3 minutes at load 18), so 50,000 would take hours, and a
    // backlog that size in the batch's queue would delay the batch timed below.
    // What the reads see (memo and search attributes) is what the record workflow itself upserts.
    const recordsQueue = `${session.taskQueue}-bench-records`;
    const writer = createTemporalLedger(session.client, { taskQueue: recordsQueue });
    let started = Date.now();
    let written = 0;
    await mapLimit(
      addresses.map((address, i) => ({ address, i })),
      CREATE_CONCURRENCY,
      async ({ address, i }) => {
        await writer.record(org, outcomeOf(address, i), 'bench');
        if (++written % 10_000 === 0) log(`   ${written} records (${seconds(started).toFixed(0)} s)`);
      },
    );
    const listed = `WorkflowType = "${RECORD_WORKFLOW_TYPE}" AND ExecutionStatus = "Running" AND ${MailferryOrg.name} = "${org}" AND ${MailferryBatch.name} > 0`;
    for (;;) {
      const { count: n } = await session.client.workflow.count(listed);
      if (n >= count) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const createSeconds = seconds(started);
    log(`   ${count} records in ${createSeconds.toFixed(1)} s`);
    // mailferry reads records only from its own task queue's executions: the reads look at the records' queue
    const reader: Session = { ...session, taskQueue: recordsQueue };
    const ledger = createTemporalLedger(session.client, { taskQueue: recordsQueue, readOnly: true });

    // a scheduled one-row batch: `batch status` of an organisation with 50,000 records
    await startBatch(session, org, {
      startedBy: 'bench',
      notify: [],
      source: { kind: 'csv', fileName: 'one.csv', csv: session.secrets.seal(org, csvFor([addresses[0]], 'Bench!Pass1')) },
      startAfter: new Date(Date.now() + 3_600_000).toISOString(),
    });
    started = Date.now();
    await batchStatus(session, org);
    const batchStatusSeconds = seconds(started);

    const dir = mkdtempSync(join(tmpdir(), 'mf-bench-records-'));
    const csvPath = join(dir, 'rerun.csv');
    writeFileSync(csvPath, csvFor(addresses.slice(0, 1000), 'Bench!Pass1'));
    started = Date.now();
    const plan = await dryRun(reader, org, csvPath);
    const rerunPlanSeconds = seconds(started);
    // a fast plan that did not find the records would measure nothing
    const unplanned = plan.filter((p) => !/^(reset TargetAddress only|resume at copyData)/.test(p.plan));
    if (unplanned.length)
      throw new Error(`re-run plan: ${unplanned.length} rows not planned from their record, e.g. ${JSON.stringify(unplanned[0])}`);

    started = Date.now();
    const rows = await consolidatedRows(ledger, org);
    const consolidatedSeconds = seconds(started);
    if (rows.length !== count) throw new Error(`reports consolidated listed ${rows.length} of ${count} records`);
    return {
      payloads: largestPayloads(),
      records: count,
      createSeconds,
      batchStatusSeconds,
      rerunPlanRows: plan.length,
      rerunPlanSeconds,
      consolidatedRows: rows.length,
      consolidatedSeconds,
    };
  } finally {
    await session.close();
    await worker.stop();
  }
}
