/**
 * Pure functions over a batch's state, kept apart from the workflow's control
 * flow: the status the CLI and e-mails show (with the measured ETA), the
 * result the organisation keeps, and how rows added by `batch add` join.
 */
import { workflowInfo } from '@temporalio/workflow';
import type { BatchEta, BatchInput, BatchResult, BatchRow, BatchState, BatchStatus, RowState, ValidationIssue } from '../shared/domain';

const ACTIVE: RowState[] = ['provisioning', 'copying'];
const CREATED: RowState[] = ['ready', 'copying', 'completed'];

/**
 * ETA from what this batch measured: the average wall time of a finished
 * mailbox copy (each row's provisioning is quick next to it) times the rows
 * still to copy, spread over the window. Mailbox sizes differ, so it is a
 * rough guide, and the basis says so.
 */
function etaOf(state: BatchState): BatchEta | null {
  const stats = state.copyStats;
  const left = state.rows.filter((r) => ['queued', 'provisioning', 'ready', 'copying'].includes(r.state)).length;
  if (stats.rows === 0 || left === 0) return null;
  const perRow = stats.seconds / stats.rows;
  const secondsLeft = Math.ceil((left / Math.min(state.maxConcurrent, left)) * perRow);
  return {
    secondsLeft,
    finishesAt: new Date(Date.now() + secondsLeft * 1000).toISOString(),
    basis: `${left} mailbox(es) left at ${perRow.toFixed(1)} s per mailbox copy (average of ${stats.rows}), ${state.maxConcurrent} at once`,
  };
}

export function summarise(input: BatchInput, state: BatchState): BatchStatus {
  const stats = state.copyStats;
  const count = (states: RowState[]) => state.rows.filter((r) => states.includes(r.state)).length;
  return {
    org: input.org,
    batch: input.batch,
    workflowId: workflowInfo().workflowId,
    startedAt: input.startedAt,
    startedBy: input.startedBy,
    phase: state.phase,
    total: state.rows.length,
    created: count(CREATED),
    active: count(ACTIVE),
    failed: count(['failed']),
    completed: count(['completed']),
    waiting: count(['queued']),
    rejected: state.rejected,
    maxConcurrent: state.maxConcurrent,
    runs: state.runs,
    eta: etaOf(state),
    adaptive: { enabled: Boolean(input.adaptive), adminMax: state.adminMax, log: state.adaptiveLog },
    copyRules: input.settings.copyRules,
    copyRate:
      stats.seconds > 0
        ? {
            bytesPerSecond: Math.round(stats.bytes / stats.seconds),
            messagesPerSecond: Math.round((stats.messages / stats.seconds) * 10) / 10,
          }
        : null,
    // passwords stay out of what the CLI prints
    rows: state.rows.map(({ password: _p, ...row }) => ({ ...row, fix: row.error?.fix })),
    reports: state.reports,
    mail: state.mail ?? [],
  };
}

export function resultOf(input: BatchInput, state: BatchState): BatchResult {
  const s = summarise(input, state);
  const sum = (f: (r: BatchRow) => number) => state.rows.reduce((n, r) => n + f(r), 0);
  return {
    batch: input.batch,
    phase: state.phase,
    total: s.total,
    created: s.created,
    completed: s.completed,
    failed: s.failed,
    stopped: state.rows.filter((r) => r.state === 'stopped').length,
    rejected: state.rejected.length,
    runs: state.runs,
    messagesCopied: sum((r) => r.copy?.messagesCopied ?? 0),
    bytesCopied: sum((r) => r.copy?.bytesCopied ?? 0),
    reports: state.reports,
  };
}

export function checkConcurrency(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 10) throw new Error(`Concurrency must be a whole number from 1 to 10 (got ${n})`);
}

/**
 * `batch add`: the prepared rows of the added CSV join the batch as queued
 * rows, numbered after the batch's own lines so report lines stay unique; an
 * address already in the batch is rejected as a duplicate.
 */
export function mergeAddedRows(
  state: BatchState,
  batch: number,
  prepared: { rows: BatchRow[]; rejected: ValidationIssue[] },
): { added: number; rejected: ValidationIssue[] } {
  const known = new Set(state.rows.map((r) => r.address));
  // a row of this batch is "already running" to prepareRows: say what the admin did instead
  const duplicate = (address: string, line: number): ValidationIssue => ({
    line,
    address,
    code: 'DUPLICATE_ADDRESS',
    message: `${address} is already in batch ${batch}.`,
    fix: 'Remove it from the added CSV.',
  });
  const rejected = prepared.rejected.map((r) => (known.has(r.address) ? duplicate(r.address, r.line) : r));
  const lineBase = Math.max(0, ...state.rows.map((r) => r.line), ...state.rejected.map((r) => r.line));
  let added = 0;
  for (const row of prepared.rows) {
    if (known.has(row.address)) {
      rejected.push(duplicate(row.address, row.line));
      continue;
    }
    state.rows.push({ ...row, line: lineBase + row.line });
    known.add(row.address);
    added++;
  }
  state.rejected.push(...rejected.map((r) => ({ ...r, line: lineBase + r.line })));
  return { added, rejected };
}
