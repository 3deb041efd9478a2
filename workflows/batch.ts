/**
 * One batch: one CSV (or a resume of failed rows, or a delta sync). Validates,
 * tests the connection and preflight, provisions every valid row with at most
 * N mailboxes active at once, sends Mailboxes Ready, copies the data (same
 * cap) and sends Migration Complete. `stop` cancels in-flight rows at once;
 * `setConcurrency` changes N while it runs.
 *
 * The phases are small functions over one `Run` (the carried state plus what
 * this run alone keeps), and read top to bottom in `batchWorkflow`. Report
 * e-mails go out from workflows of their own (reportMail.ts), so an SMTP
 * outage neither delays nor fails the batch.
 *
 * A 1,000-row batch would outgrow one run's history, so after `rowsPerRun`
 * row starts (or when the server suggests it) a run stops taking rows, lets
 * the in-flight ones finish, and continues-as-new with its state: the phase
 * and row states say where the next run picks up.
 */
import {
  ApplicationFailure,
  CancelledFailure,
  CancellationScope,
  ChildWorkflowFailure,
  ParentClosePolicy,
  TerminatedFailure,
  TimeoutFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { suggestedFix } from '../shared/errors';
import { MailferryBatch, MailferryMailbox, MailferryOrg, MailferryState, MailferryStep } from '../shared/searchAttributes';
import {
  batchFinishedSignal,
  addRowsUpdate,
  batchStatusQuery,
  batchWorkflowId,
  DEFAULT_ROWS_PER_RUN,
  endedFromOutside,
  FINISHED_PHASES,
  mailboxWorkflowId,
  organisationWorkflowId,
  reportMailWorkflowId,
  setConcurrencyUpdate,
  stopBatchSignal,
  type BatchInput,
  type BatchPhase,
  type BatchResult,
  type BatchRow,
  type BatchState,
  type MailboxInput,
  type MailboxOutcome,
  type MailboxPhase,
  type ReportKind,
} from './definitions';
import { checkConcurrency, mergeAddedRows, resultOf, summarise } from './batchState';
import { ADMIN_TOKEN_REFUSED, adminTarget } from '../shared/adminPath';
import { requireAdmin } from './adminPath';
import { requireIdentity } from './identity';
import { mailboxWorkflow } from './mailbox';
import { reportMailWorkflow } from './reportMail';
import { upsertChanged } from './searchAttributes';

type Activities = ReturnType<typeof createActivities>;

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** One run of the batch: the state it carries over continue-as-new, and what lives only in this run. */
interface Run {
  input: BatchInput;
  state: BatchState;
  /** cancelled by `stop`: every row's child and timer run inside it */
  work: CancellationScope;
  inFlight: Set<Promise<void>>;
  rowsPerRun: number;
  startedThisRun: number;
  /** `batch add` calls still validating their CSV: the batch does not end under them */
  adding: number;
}

function newState(input: BatchInput): BatchState {
  return {
    phase: input.startAfter ? 'scheduled' : 'validating',
    rows: [],
    rejected: [],
    stopRequested: false,
    reports: [],
    readyMailSent: false,
    maxConcurrent: input.settings.maxConcurrentMailboxes,
    runs: 1,
    copyStats: { rows: 0, seconds: 0, bytes: 0, messages: 0 },
    adminMax: input.settings.maxConcurrentMailboxes,
    lastAdaptAt: Date.now(),
    adaptiveLog: [],
    mail: [],
  };
}

export async function batchWorkflow(input: BatchInput): Promise<BatchResult> {
  requireIdentity({
    workflowId: batchWorkflowId(input.org, input.batch),
    parent: organisationWorkflowId(input.org),
    carried: input.carried !== undefined,
  });
  const run: Run = {
    input,
    state: input.carried ? { ...input.carried, mail: input.carried.mail ?? [], runs: input.carried.runs + 1 } : newState(input),
    work: new CancellationScope(),
    inFlight: new Set(),
    rowsPerRun: input.rowsPerRun ?? DEFAULT_ROWS_PER_RUN,
    startedThisRun: 0,
    adding: 0,
  };
  setHandlers(run);
  upsertChanged([
    { key: MailferryOrg, value: input.org },
    { key: MailferryBatch, value: input.batch },
  ]);

  let ending: 'done' | 'continue';
  try {
    ending = await run.work.run(() => migrate(run));
  } catch (err) {
    if (!isCancellation(err) || !run.state.stopRequested) {
      setPhase(run, 'failed');
      await notifyOrganisation(run);
      throw err;
    }
    await finishStopped(run);
    return notifyOrganisation(run);
  }
  if (ending === 'continue') {
    // a stop that arrived while this run drained still stops the batch (its token is checked first: handlers finish)
    await condition(allHandlersFinished);
    if (run.state.stopRequested) {
      await finishStopped(run);
      return notifyOrganisation(run);
    }
    // the CSV was read at validation: later runs need only the rows, not the file again
    const source = input.source.kind === 'csv' ? { ...input.source, csv: '' } : input.source;
    return continueAsNew<typeof batchWorkflow>({ ...input, source, carried: run.state });
  }
  return notifyOrganisation(run);
}

/** The batch's work, phase by phase; 'continue' when this run has started its share of rows. */
async function migrate(run: Run): Promise<'done' | 'continue'> {
  const { state } = run;
  if (state.phase === 'scheduled') await waitForStart(run);
  if (state.phase === 'validating') await validate(run);
  const sync = run.input.source.kind === 'sync';

  // Rows can arrive while the batch runs (`batch add`), so each pass takes whatever is waiting until nothing is.
  for (;;) {
    if (state.rows.some((r) => r.state === 'queued')) {
      setPhase(run, 'provisioning');
      if (!(await runAll(run, nextToProvision, (r) => (r.plan.kind === 'resetTargetAddress' ? 'resetTargetAddress' : 'provision'))))
        return 'continue';
    }
    // a sync pass changes no forwarding: nothing becomes ready, so no Mailboxes Ready e-mail
    if (!state.readyMailSent && !sync) await sendReport(run, 'mailboxesReady');
    state.readyMailSent = true;
    if (state.rows.some((r) => r.state === 'ready')) {
      setPhase(run, 'copying');
      if (!(await runAll(run, nextToCopy, () => 'copy'))) return 'continue';
    }
    if (state.rows.some((r) => r.state === 'queued' || r.state === 'ready')) continue;
    if (run.adding > 0) {
      await condition(() => run.adding === 0);
      continue;
    }
    if (run.input.completeAfter && !state.finalSyncDone) {
      await awaitCompletion(run);
      continue;
    }
    break;
  }
  setPhase(run, 'completed');
  await sendReport(run, 'migrationComplete');
  return 'done';
}

function setHandlers(run: Run): void {
  const { input, state } = run;
  setHandler(batchStatusQuery, () => summarise(input, state));
  setHandler(stopBatchSignal, async ({ by, token }) => {
    if (state.stopRequested || FINISHED_PHASES.includes(state.phase)) return;
    try {
      // no nonce list: a stop replayed into this batch can only stop it again, and no other batch takes its token
      await requireAdmin('stop', adminTarget.stop(input), token);
    } catch (err) {
      log.warn(`The stop from ${by} was not done: ${err instanceof Error ? err.message : String(err)}`, { code: ADMIN_TOKEN_REFUSED });
      return;
    }
    if (state.stopRequested || FINISHED_PHASES.includes(state.phase)) return;
    state.stopRequested = true;
    run.work.cancel();
  });
  setHandler(
    addRowsUpdate,
    async (csv) => {
      run.adding++;
      try {
        const prepared = await acts.prepareRows({
          org: input.org,
          batch: input.batch,
          settings: input.settings,
          source: { kind: 'csv', ...csv },
        });
        return mergeAddedRows(state, input.batch, prepared);
      } finally {
        run.adding--;
      }
    },
    {
      validator: (_csv: { fileName: string; csv: string }) => {
        if (FINISHED_PHASES.includes(state.phase) || state.stopRequested || state.phase === 'stopping')
          throw new Error(`Batch ${input.batch} has ended (${state.phase}): start a new batch with \`mailferry batch start\``);
        if (state.phase === 'scheduled' || state.phase === 'validating')
          throw new Error(`Batch ${input.batch} is still ${state.phase}: add rows once it is provisioning or copying`);
      },
    },
  );
  setHandler(
    setConcurrencyUpdate,
    (n) => {
      const previous = state.maxConcurrent;
      state.maxConcurrent = n;
      state.adminMax = n;
      state.lastAdaptAt = Date.now();
      return { previous, now: n };
    },
    {
      validator: (n) => {
        checkConcurrency(n);
        if (FINISHED_PHASES.includes(state.phase) || state.stopRequested)
          throw new Error(`Batch ${input.batch} has ended (${state.phase}); its concurrency can no longer change`);
      },
    },
  );
}

function setPhase(run: Run, phase: BatchPhase): void {
  run.state.phase = phase;
  upsertChanged([{ key: MailferryState, value: phase }]);
}

/** `--start-after`: a durable timer (survives worker restarts); `stop` cancels it with the work scope. */
async function waitForStart(run: Run): Promise<void> {
  const wait = Date.parse(run.input.startAfter ?? '') - Date.now();
  if (wait > 0) await sleep(wait);
  setPhase(run, 'validating');
}

async function validate(run: Run): Promise<void> {
  const { input, state } = run;
  await acts.testConnection({ settings: input.settings });
  const prepared = await acts.prepareRows({ org: input.org, batch: input.batch, settings: input.settings, source: input.source });
  state.rows = prepared.rows;
  state.rejected = prepared.rejected;
  setPhase(run, 'provisioning');
}

/** `--complete-after`: wait (durably; `batch add` rows still run), then one last delta pass of every completed row. */
async function awaitCompletion(run: Run): Promise<void> {
  const { state } = run;
  setPhase(run, 'awaitingCompletion');
  const until = Date.parse(run.input.completeAfter ?? '');
  const added = await condition(() => state.rows.some((r) => r.state === 'queued'), Math.max(1, until - Date.now()));
  if (added) return;
  state.finalSyncDone = true;
  for (const r of state.rows) if (r.state === 'completed') r.state = 'ready';
}

/** The next row to provision; rows whose provisioning is done (a failed copy resumed, a sync pass) go straight to copy. */
function nextToProvision(run: Run): BatchRow | undefined {
  for (const r of run.state.rows) if (r.state === 'queued' && r.plan.kind === 'resume' && r.plan.from === 'copyData') r.state = 'ready';
  return run.state.rows.find((r) => r.state === 'queued');
}

function nextToCopy(run: Run): BatchRow | undefined {
  return run.state.rows.find((r) => r.state === 'ready');
}

/**
 * Sliding window: at most `state.maxConcurrent` rows in flight (read anew for
 * every row, so a changed cap applies to the next start). `next` picks the
 * row; runRow marks it in flight at once, so it is not picked twice. Returns
 * false when this run has started its share of rows: the in-flight ones have
 * finished and the batch should continue-as-new.
 */
async function runAll(run: Run, next: (run: Run) => BatchRow | undefined, phaseOf: (row: BatchRow) => MailboxPhase): Promise<boolean> {
  for (;;) {
    await waitForRoom(run);
    const row = next(run);
    if (!row) break;
    if (run.startedThisRun >= run.rowsPerRun || workflowInfo().continueAsNewSuggested) {
      await condition(() => run.inFlight.size === 0);
      return false;
    }
    run.startedThisRun++;
    const p: Promise<void> = runRow(run, row, phaseOf(row)).finally(() => run.inFlight.delete(p));
    run.inFlight.add(p);
  }
  // wait for the window to empty; a row added meanwhile is started by the caller's next pass
  await condition(() => run.inFlight.size === 0);
  return true;
}

/**
 * Until the window has room. In adaptive mode it also wakes after each quiet
 * period, but only while the window is below the admin's cap: every wake-up
 * either widens the window or follows a throttle, so timers stay bounded.
 */
async function waitForRoom(run: Run): Promise<void> {
  const { state, input } = run;
  const room = () => run.inFlight.size < state.maxConcurrent;
  for (;;) {
    maybeRaise(run);
    if (!input.adaptive || state.maxConcurrent >= state.adminMax) {
      await condition(() => room() || (Boolean(input.adaptive) && state.maxConcurrent < state.adminMax));
      if (room()) return;
      continue;
    }
    if (await condition(room, input.adaptive.quietSeconds * 1000)) return;
  }
}

function adapt(run: Run, to: number, reason: string): void {
  const { state } = run;
  state.adaptiveLog = [...state.adaptiveLog, { at: new Date().toISOString(), from: state.maxConcurrent, to, reason }].slice(-20);
  state.maxConcurrent = to;
  state.lastAdaptAt = Date.now();
}

/** Adaptive mode: a copy that had to reconnect means the servers push back; halve the window. */
function throttled(run: Run, address: string, reconnects: number): void {
  if (!run.input.adaptive) return;
  run.state.lastAdaptAt = Date.now();
  if (run.state.maxConcurrent > 1)
    adapt(run, Math.max(1, Math.floor(run.state.maxConcurrent / 2)), `${address}: ${reconnects} reconnect(s) during the copy`);
}

/** Adaptive mode: after a quiet period, one more at a time, never above the admin's cap. */
function maybeRaise(run: Run): void {
  const { state, input } = run;
  const quietMs = (input.adaptive?.quietSeconds ?? 0) * 1000;
  if (!input.adaptive || state.maxConcurrent >= state.adminMax || Date.now() - state.lastAdaptAt < quietMs) return;
  adapt(run, state.maxConcurrent + 1, `no reconnects for ${input.adaptive.quietSeconds} s`);
}

/** The outcome a finished or failed mailbox run left in its result or failure. */
function outcomeOf(err: unknown): MailboxOutcome | undefined {
  if (err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure) {
    return err.cause.details?.[0] as MailboxOutcome | undefined;
  }
  return undefined;
}

/** How a child run ended when it left no outcome: it was ended from outside (Temporal CLI, Web UI, a timeout). */
function endedAs(err: unknown): string | undefined {
  if (!(err instanceof ChildWorkflowFailure)) return undefined;
  if (err.cause instanceof TerminatedFailure) return 'TERMINATED';
  if (err.cause instanceof TimeoutFailure) return 'TIMED_OUT';
  if (err.cause instanceof CancelledFailure) return 'CANCELED';
  return undefined;
}

function mailboxInputOf(run: Run, row: BatchRow, phase: MailboxPhase): MailboxInput {
  const startAt = phase === 'copy' ? 'copyData' : row.plan.kind === 'resume' ? row.plan.from : 'verifyMeu';
  return {
    org: run.input.org,
    batch: run.input.batch,
    line: row.line,
    address: row.address,
    password: row.password,
    forceChangePassword: row.forceChangePassword,
    phase,
    startAt,
    previous: { copy: row.copy, previousTargetAddress: row.previousTargetAddress },
    delta: run.input.source.kind === 'sync' || Boolean(run.state.finalSyncDone),
    settings: run.input.settings,
  };
}

/** One mailbox run as a child workflow; its outcome (or failure details) updates the row. */
async function runRow(run: Run, row: BatchRow, phase: MailboxPhase): Promise<void> {
  const { input, state } = run;
  const mailboxInput = mailboxInputOf(run, row, phase);
  row.state = phase === 'copy' ? 'copying' : 'provisioning';
  row.step = phase === 'resetTargetAddress' ? 'setTargetAddress' : mailboxInput.startAt;
  let outcome: MailboxOutcome | undefined;
  try {
    const child = await startChild(mailboxWorkflow, {
      workflowId: mailboxWorkflowId(input.org, row.address),
      args: [mailboxInput],
      typedSearchAttributes: [
        { key: MailferryOrg, value: input.org },
        { key: MailferryBatch, value: input.batch },
        { key: MailferryMailbox, value: row.address },
        { key: MailferryStep, value: mailboxInput.startAt },
        { key: MailferryState, value: row.state },
      ],
      memo: { summary: `batch ${input.batch}, CSV line ${row.line}, ${phase}` },
    });
    const started = Date.now();
    outcome = await child.result();
    if (phase === 'copy' && outcome.state === 'completed') {
      state.copyStats.rows++;
      state.copyStats.seconds += (Date.now() - started) / 1000;
      state.copyStats.bytes += (outcome.copy?.bytesCopied ?? 0) - (row.copy?.bytesCopied ?? 0);
      state.copyStats.messages += (outcome.copy?.messagesCopied ?? 0) - (row.copy?.messagesCopied ?? 0);
    }
    if (phase === 'copy' && (outcome.copy?.reconnects ?? 0) > 0) throttled(run, row.address, outcome.copy?.reconnects ?? 0);
  } catch (err) {
    outcome = outcomeOf(err) ?? (await reportEndedFromOutside(run, row, err));
    if (!outcome) {
      const stopped = isCancellation(err) || state.stopRequested;
      row.state = stopped ? 'stopped' : 'failed';
      const message = err instanceof Error ? err.message : String(err);
      row.error = stopped
        ? { code: 'STOPPED', message: 'Stopped by the admin while in flight', fix: suggestedFix('COPY_FAILED') }
        : { code: 'CHILD_FAILED', message, fix: suggestedFix(undefined) };
      return;
    }
  }
  applyOutcome(row, outcome, mailboxInput.startAt);
}

/**
 * A child ended from outside reported nothing: the batch tells the record
 * what happened (state, step, how it ended), so no later reader guesses.
 */
async function reportEndedFromOutside(run: Run, row: BatchRow, err: unknown): Promise<MailboxOutcome | undefined> {
  const status = endedAs(err);
  if (!status || !(err instanceof ChildWorkflowFailure)) return undefined;
  const outcome = endedFromOutside(
    row.address,
    status,
    { step: row.step, batch: run.input.batch },
    {
      address: row.address,
      batch: run.input.batch,
      state: row.state,
      lastCompletedStep: null,
      copy: row.copy,
      previousTargetAddress: row.previousTargetAddress,
      password: row.password,
      forceChangePassword: row.forceChangePassword,
    },
  );
  await CancellationScope.nonCancellable(() => acts.recordOutcome({ org: run.input.org, outcome, runId: err.execution.runId ?? '' }));
  return outcome;
}

function applyOutcome(row: BatchRow, outcome: MailboxOutcome, startAt: BatchRow['step']): void {
  row.state = outcome.state;
  row.step = outcome.failedStep ?? outcome.lastCompletedStep;
  row.error = outcome.error;
  row.copy = outcome.copy;
  row.previousTargetAddress = outcome.previousTargetAddress;
  if (outcome.state === 'failed' || outcome.state === 'stopped')
    row.plan = { kind: 'resume', from: outcome.failedStep ?? startAt ?? 'verifyMeu' };
}

/**
 * Writes the kind's report files now and hands the e-mail to its own
 * workflow, which outlives this batch: the batch goes on (and may complete)
 * while an SMTP outage lasts; `batch status` shows the e-mail pending.
 */
async function sendReport(run: Run, kind: ReportKind): Promise<void> {
  const { input, state } = run;
  const { paths, mail } = await acts.writeBatchReport({
    kind,
    org: input.org,
    batch: input.batch,
    startedAt: input.startedAt,
    startedBy: input.startedBy,
    adminEmail: input.settings.adminEmail,
    notify: input.notify,
    status: summarise(input, state),
    copyRules: input.settings.copyRules,
  });
  const workflowId = reportMailWorkflowId(input.org, input.batch, kind);
  await startChild(reportMailWorkflow, {
    workflowId,
    args: [mail],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    typedSearchAttributes: [
      { key: MailferryOrg, value: input.org },
      { key: MailferryBatch, value: input.batch },
    ],
    memo: { summary: `${kind} e-mail of batch ${input.batch}` },
  });
  state.reports.push(...paths);
  state.mail.push({ kind, workflowId, messageId: mail.messageId });
}

/** What a stopped batch does once its in-flight rows have stopped: mark waiting rows, report. */
async function finishStopped(run: Run): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    setPhase(run, 'stopping');
    // Children are being cancelled; wait for each to record where it stopped.
    await Promise.allSettled([...run.inFlight]);
    for (const row of run.state.rows) {
      if (row.state === 'queued') {
        row.state = 'stopped';
        row.error = {
          code: 'NOT_STARTED',
          message: 'Waiting when the batch was stopped; not started',
          fix: 'Re-run the CSV or resume the row.',
        };
      }
    }
    setPhase(run, 'stopped');
    await sendReport(run, 'stopped');
  });
}

/** A nudge to the organisation, which checks this batch's real state before it frees the slot. */
async function notifyOrganisation(run: Run): Promise<BatchResult> {
  const result = resultOf(run.input, run.state);
  await CancellationScope.nonCancellable(() =>
    getExternalWorkflowHandle(organisationWorkflowId(run.input.org)).signal(batchFinishedSignal, result),
  );
  return result;
}
