/**
 * `mailferry batch start|status|stop|resume`: thin calls on the organisation
 * and batch workflows. The CSV is validated here first, so an admin sees its
 * problems before anything runs, then sent sealed (it holds passwords).
 */
import { readFileSync } from 'node:fs';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { basename } from 'node:path';
import { z } from 'zod';
import { createTemporalLedger } from '../connectors/ledger/temporal';
import { adminTarget } from '../shared/adminPath';
import { adminToken } from './adminToken';
import type { CopyRuleFlags } from '../shared/copyRules';
import { CsvStructureError, validateCsv } from '../shared/csv';
import { describeCopyRules } from '../shared/domain';
import {
  batchStatusQuery,
  batchWorkflowId,
  addRowsUpdate,
  organisationWorkflowId,
  setConcurrencyUpdate,
  startBatchUpdate,
  stopBatchSignal,
  type BatchResult,
  type BatchSource,
  type BatchStatus,
  type OrganisationState,
  type ReportMailRef,
  type StartBatchRequest,
} from '../workflows/definitions';
import type { Session } from './connection';
import { CliError, EXIT } from './errors';
import { orgState, refusedAsCliError } from './org';
import { givenCopyRuleFlags } from './settings';

export function readCsvFile(path: string): { content: string; fileName: string; result: ReturnType<typeof validateCsv> } {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`Cannot read the CSV file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.BAD_INPUT);
  }
  try {
    return { content, fileName: basename(path), result: validateCsv(content, {}) };
  } catch (err) {
    if (err instanceof CsvStructureError) throw new CliError(`${basename(path)}: ${err.message}`, EXIT.BAD_INPUT);
    throw err;
  }
}

/** Status e-mails go to these addresses: a line break in one would let it write its own mail headers (Bcc:). */
export function checkNotifyAddresses(addresses: readonly string[]): void {
  for (const address of addresses) {
    if (/[\r\n]/.test(address))
      throw new CliError(
        `Notification address ${JSON.stringify(address)} contains a line break (header injection): give plain addresses, comma separated`,
        EXIT.BAD_INPUT,
      );
    if (!z.email().safeParse(address).success)
      throw new CliError(`Notification address ${JSON.stringify(address)} is not a valid e-mail address`, EXIT.BAD_INPUT);
  }
}

export async function startBatch(session: Session, org: string, request: StartBatchRequest) {
  checkNotifyAddresses(request.notify);
  return refusedAsCliError(() =>
    session.client.workflow.getHandle(organisationWorkflowId(org)).executeUpdate(startBatchUpdate, { args: [request] }),
  );
}

export function csvSource(session: Session, org: string, path: string): { source: BatchSource; warnings: string[] } {
  const { content, fileName, result } = readCsvFile(path);
  if (result.rows.length === 0)
    throw new CliError(`${fileName}: no valid row to migrate (${result.rejected.length} rejected)`, EXIT.BAD_INPUT);
  const warnings = result.rejected.map((r) => `line ${r.line}: ${r.address || '(no address)'}: ${r.message} Fix: ${r.fix}`);
  return { source: { kind: 'csv', fileName, csv: session.secrets.seal(org, content) }, warnings };
}

/** `--dry-run`: the plan of each row from the ledger (a few visibility lists for the whole CSV), without starting anything. */
export async function dryRun(session: Session, org: string, path: string): Promise<{ line: number; address: string; plan: string }[]> {
  const { result } = readCsvFile(path);
  const ledger = createTemporalLedger(session.client, { taskQueue: session.taskQueue, readOnly: true });
  const out: { line: number; address: string; plan: string }[] = [];
  const entries = await ledger.lookupMany(
    org,
    result.rows.map((r) => r.address),
  );
  for (const row of result.rows) {
    const entry = entries.get(row.address.toLowerCase());
    const o = entry?.outcome;
    const plan = entry?.running
      ? 'refused: a run of this mailbox is still open'
      : !o
        ? 'new: all steps'
        : o.state === 'completed'
          ? 'reset TargetAddress only (already migrated)'
          : o.state === 'ready'
            ? 'resume at copyData'
            : `resume at ${o.failedStep ?? 'verifyMeu'} (failed in batch ${o.batch}: ${o.error?.code ?? 'unknown'})`;
    out.push({ line: row.line, address: row.address, plan });
  }
  for (const r of result.rejected) out.push({ line: r.line, address: r.address, plan: `skipped: ${r.message}` });
  return out.sort((a, b) => a.line - b.line);
}

export function pickBatch(state: OrganisationState, requested: number | undefined): number {
  if (requested !== undefined) {
    if (!state.batches.some((b) => b.batch === requested))
      throw new CliError(`Organisation ${state.org} has no batch ${requested}`, EXIT.NOT_FOUND);
    return requested;
  }
  const latest = state.activeBatch ?? state.batches.at(-1)?.batch;
  if (latest === undefined)
    throw new CliError(`Organisation ${state.org} has no batch yet: start one with \`mailferry batch start --csv F\``, EXIT.NOT_FOUND);
  return latest;
}

const NOTES: Record<string, string> = {
  TERMINATED:
    'the batch was terminated from outside mailferry (Temporal CLI or Web UI): rows in flight did not finish; re-run the CSV or `mailferry batch resume --failed` to go on',
  TIMED_OUT: 'the batch timed out: rows in flight did not finish; re-run the CSV to go on',
  CANCELED: 'the batch was cancelled from outside mailferry: rows in flight did not finish; re-run the CSV to go on',
  FAILED: 'the batch failed: see its error in the Web UI; re-run the CSV to go on',
};

/** Who ended a run from outside and why, from its last history event (the reason is the operator's own text, not a payload). */
async function endedBy(session: Session, workflowId: string, runId: string): Promise<string> {
  const { history } = await session.client.workflowService.getWorkflowExecutionHistoryReverse({
    namespace: session.client.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 1,
  });
  const terminated = history?.events?.[0]?.workflowExecutionTerminatedEventAttributes;
  if (!terminated) return '';
  return [terminated.identity && ` by ${terminated.identity}`, terminated.reason && ` (reason: ${terminated.reason})`]
    .filter(Boolean)
    .join('');
}

/**
 * `batch wait` and `batch start --wait`: the batch's result once it ends, or,
 * for a batch that ended without finishing (terminated from the Temporal CLI
 * or Web UI, timed out, cancelled, failed), an error saying how, by whom
 * when the server knows, and what to do next (exit code BATCH_ENDED).
 */
export async function waitForBatch(session: Session, org: string, batch: number): Promise<BatchResult> {
  const handle = session.client.workflow.getHandle(batchWorkflowId(org, batch));
  try {
    return (await handle.result()) as BatchResult;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const described = await handle.describe();
    const status = described.status.name;
    const who = await endedBy(session, handle.workflowId, described.runId).catch(() => '');
    const cause = err.cause?.message && status !== 'TERMINATED' ? `: ${err.cause.message}` : '';
    throw new CliError(
      `Batch ${batch} of ${org} ended as ${status.toLowerCase().replace('_', ' ')}${who}${cause}. ${NOTES[status] ?? 'Re-run the CSV to go on.'}`,
      EXIT.BATCH_ENDED,
    );
  }
}

/** What the server says about the batch's execution and its report e-mails, beside the status the batch itself keeps. */
async function withExecution(session: Session, status: BatchStatus, workflowId: string): Promise<BatchStatus> {
  const described = await session.client.workflow.getHandle(workflowId).describe();
  const note = NOTES[described.status.name];
  const mail = await Promise.all(
    (status.mail ?? []).map(async (m) => {
      const d = await session.client.workflow
        .getHandle(m.workflowId)
        .describe()
        .catch(() => null);
      const delivery: ReportMailRef['delivery'] = !d
        ? 'unknown'
        : d.status.name === 'RUNNING'
          ? 'pending'
          : d.status.name === 'COMPLETED'
            ? 'sent'
            : 'failed';
      return { ...m, delivery };
    }),
  );
  return { ...status, mail, ...(note ? { execution: { status: described.status.name, note } } : {}) };
}

export async function batchStatus(session: Session, org: string, batch?: number): Promise<BatchStatus> {
  const state = await orgState(session.client, org);
  const n = pickBatch(state, batch);
  try {
    const handle = session.client.workflow.getHandle(batchWorkflowId(org, n));
    return await withExecution(session, await handle.query(batchStatusQuery), batchWorkflowId(org, n));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError && state.completed)
      throw new CliError(
        `Batch ${n} of ${org} was cleaned up by Complete Migration: its results are in the final report (\`mailferry reports consolidated\`)`,
        EXIT.NOT_FOUND,
      );
    throw err;
  }
}

export async function stopBatch(session: Session, org: string, by: string, batch?: number): Promise<number> {
  const state = await orgState(session.client, org);
  const n = batch ?? state.activeBatch;
  if (n === null || n === undefined) throw new CliError(`Organisation ${org} has no active batch to stop`, EXIT.REFUSED);
  const token = adminToken(session, org, 'stop', adminTarget.stop({ batch: n }));
  await session.client.workflow.getHandle(batchWorkflowId(org, n)).signal(stopBatchSignal, { by, token });
  return n;
}

/** `batch concurrency N`: the active (or given) batch's new cap; the workflow refuses values outside 1–10. */
export async function setBatchConcurrency(
  session: Session,
  org: string,
  n: number,
  batch?: number,
): Promise<{ batch: number; previous: number; now: number }> {
  const state = await orgState(session.client, org);
  const target = batch ?? state.activeBatch;
  if (target === null || target === undefined) throw new CliError(`Organisation ${org} has no active batch`, EXIT.REFUSED);
  const changed = await refusedAsCliError(() =>
    session.client.workflow.getHandle(batchWorkflowId(org, target)).executeUpdate(setConcurrencyUpdate, { args: [n] }),
  );
  return { batch: target, ...changed };
}

/** `batch add --csv F`: the CSV is checked here first, then validated again by the batch like a start. */
export async function addRows(session: Session, org: string, path: string, batch?: number, flags: CopyRuleFlags = {}) {
  const { source } = csvSource(session, org, path);
  if (source.kind !== 'csv') throw new Error('unreachable: csvSource returns a CSV source');
  const state = await orgState(session.client, org);
  const target = batch ?? state.activeBatch;
  if (target === null || target === undefined) throw new CliError(`Organisation ${org} has no active batch to add rows to`, EXIT.REFUSED);
  const handle = session.client.workflow.getHandle(batchWorkflowId(org, target));
  const given = givenCopyRuleFlags(flags);
  if (given.length > 0) {
    const rules = describeCopyRules((await handle.query(batchStatusQuery)).copyRules);
    throw new CliError(
      `${given.join(', ')}: \`batch add\` puts the rows into batch ${target}, whose copy rules were fixed when it started ` +
        `(${rules.length ? rules.join('; ') : 'none: every folder and message is copied'}); its rows and reports all go by them. ` +
        `To copy these rows under other rules, start a batch of their own once batch ${target} has ended: ` +
        `mailferry batch start --csv ${path} ${given.map((f) => `${f} ...`).join(' ')}`,
      EXIT.BAD_INPUT,
    );
  }
  const r = await refusedAsCliError(() => handle.executeUpdate(addRowsUpdate, { args: [{ fileName: source.fileName, csv: source.csv }] }));
  return { batch: target, ...r, copyRules: (await handle.query(batchStatusQuery)).copyRules };
}

export function formatStatus(s: BatchStatus): string {
  const lines = [
    `Batch ${s.batch} of ${s.org} (${s.workflowId}): ${s.phase}`,
    `  started ${s.startedAt} by ${s.startedBy}; at most ${s.maxConcurrent} mailboxes at once; run ${s.runs}`,
    `  total ${s.total}  created ${s.created}  active ${s.active}  completed ${s.completed}  failed ${s.failed}  waiting ${s.waiting}  rejected ${s.rejected.length}`,
    ...(s.copyRate ? [`  copy rate ${(s.copyRate.bytesPerSecond / 1e6).toFixed(2)} MB/s, ${s.copyRate.messagesPerSecond} messages/s`] : []),
    ...(s.eta ? [`  ETA ${s.eta.finishesAt} (${s.eta.basis})`] : []),
    ...(s.execution ? [`  ${s.execution.status}: ${s.execution.note}`] : []),
    ...(s.adaptive.enabled ? [`  adaptive concurrency, at most ${s.adaptive.adminMax}`] : []),
    ...(describeCopyRules(s.copyRules).length ? [`  copy rules: ${describeCopyRules(s.copyRules).join('; ')}`] : []),
    ...s.adaptive.log.map((e) => `    ${e.at}: ${e.from} → ${e.to} (${e.reason})`),
    '',
    '  line  mailbox                                   state         step               detail',
  ];
  for (const r of s.rows) {
    const detail = r.error
      ? `${r.error.code}: ${r.error.message} Fix: ${r.error.fix}`
      : r.copy
        ? `${r.copy.messagesCopied} messages, ${(r.copy.bytesCopied / 1e6).toFixed(1)} MB`
        : '';
    lines.push(`  ${String(r.line).padStart(4)}  ${r.address.padEnd(40)}  ${r.state.padEnd(12)}  ${(r.step ?? '-').padEnd(17)}  ${detail}`);
  }
  for (const r of s.rejected)
    lines.push(
      `  ${String(r.line).padStart(4)}  ${r.address.padEnd(40)}  ${'rejected'.padEnd(12)}  ${'-'.padEnd(17)}  ${r.code}: ${r.message} Fix: ${r.fix}`,
    );
  if (s.reports.length) lines.push('', '  reports:', ...s.reports.map((p) => `    ${p}`));
  if (s.mail?.length)
    lines.push(
      '',
      '  report e-mails:',
      ...s.mail.map(
        (m) => `    ${m.kind}: ${m.delivery ?? 'pending'}${m.delivery === 'pending' ? ' (retried until the SMTP server takes it)' : ''}`,
      ),
    );
  return lines.join('\n');
}
