/**
 * One batch: one CSV (or a resume of failed rows, or a delta sync). Validates,
 * tests the connection and preflight, provisions every valid row with at most
 * N mailboxes active at once, sends Mailboxes Ready, copies the data (same
 * cap) and sends Migration Complete. `stop` cancels in-flight rows at once;
 * `setConcurrency` changes N while it runs.
 *
 * A 1,000-row batch would outgrow one run's history, so after `rowsPerRun`
 * row starts (or when the server suggests it) a run stops taking rows, lets
 * the in-flight ones finish, and continues-as-new with its state: the phase
 * and row states say where the next run picks up.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { suggestedFix } from '../shared/errors';
import { MailferryBatch, MailferryMailbox, MailferryOrg, MailferryState, MailferryStep } from '../shared/searchAttributes';
import {
  batchFinishedSignal,
  addRowsUpdate,
  batchStatusQuery,
  DEFAULT_ROWS_PER_RUN,
  FINISHED_PHASES,
  mailboxWorkflowId,
  organisationWorkflowId,
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
} from './definitions';
import { checkConcurrency, mergeAddedRows, resultOf, summarise } from './batchState';
import { mailboxWorkflow } from './mailbox';

type Activities = ReturnType<typeof createActivities>;

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** The ledger entry a finished or failed mailbox run left behind. */
function outcomeOf(err: unknown): MailboxOutcome | undefined {
  if (err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure) {
    return err.cause.details?.[0] as MailboxOutcome | undefined;
  }
  return undefined;
}

export async function batchWorkflow(input: BatchInput): Promise<BatchResult> {
  const state: BatchState = input.carried
    ? { ...input.carried, runs: input.carried.runs + 1 }
    : {
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
      };
  const work = new CancellationScope();
  const inFlight = new Set<Promise<void>>();
  const rowsPerRun = input.rowsPerRun ?? DEFAULT_ROWS_PER_RUN;
  let startedThisRun = 0;
  /** `batch add` calls still validating their CSV: the batch does not end under them */
  let adding = 0;

  setHandler(batchStatusQuery, () => summarise(input, state));
  setHandler(stopBatchSignal, () => {
    if (state.stopRequested || FINISHED_PHASES.includes(state.phase)) return;
    state.stopRequested = true;
    work.cancel();
  });
  setHandler(
    addRowsUpdate,
    async (csv) => {
      adding++;
      try {
        const prepared = await acts.prepareRows({
          org: input.org,
          batch: input.batch,
          settings: input.settings,
          source: { kind: 'csv', ...csv },
        });
        return mergeAddedRows(state, input.batch, prepared);
      } finally {
        adding--;
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

  const setPhase = (phase: BatchPhase) => {
    state.phase = phase;
    upsertSearchAttributes([{ key: MailferryState, value: phase }]);
  };

  /** One mailbox run as a child workflow; its outcome (or failure details) updates the row. */
  async function runRow(row: BatchRow, phase: MailboxPhase): Promise<void> {
    const plan = row.plan;
    const startAt = phase === 'copy' ? 'copyData' : plan.kind === 'resume' ? plan.from : 'verifyMeu';
    row.state = phase === 'copy' ? 'copying' : 'provisioning';
    row.step = phase === 'resetTargetAddress' ? 'setTargetAddress' : startAt;
    const mailboxInput: MailboxInput = {
      org: input.org,
      batch: input.batch,
      line: row.line,
      address: row.address,
      password: row.password,
      forceChangePassword: row.forceChangePassword,
      phase,
      startAt,
      checkpoint: row.checkpoint,
      previous: { copy: row.copy, previousTargetAddress: row.previousTargetAddress },
      settings: input.settings,
    };
    let outcome: MailboxOutcome | undefined;
    try {
      const child = await startChild(mailboxWorkflow, {
        workflowId: mailboxWorkflowId(input.org, row.address),
        args: [mailboxInput],
        typedSearchAttributes: [
          { key: MailferryOrg, value: input.org },
          { key: MailferryBatch, value: input.batch },
          { key: MailferryMailbox, value: row.address },
          { key: MailferryStep, value: startAt },
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
      if (phase === 'copy' && (outcome.copy?.reconnects ?? 0) > 0) throttled(row.address, outcome.copy?.reconnects ?? 0);
    } catch (err) {
      outcome = outcomeOf(err);
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
    row.state = outcome.state;
    row.step = outcome.failedStep ?? outcome.lastCompletedStep;
    row.error = outcome.error;
    row.copy = outcome.copy;
    row.checkpoint = outcome.checkpoint;
    row.previousTargetAddress = outcome.previousTargetAddress;
    if (outcome.state === 'failed' || outcome.state === 'stopped') {
      row.plan = { kind: 'resume', from: outcome.failedStep ?? startAt, checkpoint: outcome.checkpoint };
    }
  }

  const adapt = (to: number, reason: string) => {
    state.adaptiveLog = [...state.adaptiveLog, { at: new Date().toISOString(), from: state.maxConcurrent, to, reason }].slice(-20);
    state.maxConcurrent = to;
    state.lastAdaptAt = Date.now();
  };

  /** Adaptive mode: a copy that had to reconnect means the servers push back; halve the window. */
  function throttled(address: string, reconnects: number): void {
    if (!input.adaptive) return;
    state.lastAdaptAt = Date.now();
    if (state.maxConcurrent > 1)
      adapt(Math.max(1, Math.floor(state.maxConcurrent / 2)), `${address}: ${reconnects} reconnect(s) during the copy`);
  }

  /** Adaptive mode: after a quiet period, one more at a time, never above the admin's cap. */
  function maybeRaise(): void {
    const quietMs = (input.adaptive?.quietSeconds ?? 0) * 1000;
    if (!input.adaptive || state.maxConcurrent >= state.adminMax || Date.now() - state.lastAdaptAt < quietMs) return;
    adapt(state.maxConcurrent + 1, `no reconnects for ${input.adaptive.quietSeconds} s`);
  }

  /** Until the window has room; in adaptive mode, waking up after each quiet period to see whether it can widen. */
  async function waitForRoom(): Promise<void> {
    for (;;) {
      maybeRaise();
      if (!input.adaptive) {
        await condition(() => inFlight.size < state.maxConcurrent);
        return;
      }
      if (await condition(() => inFlight.size < state.maxConcurrent, input.adaptive.quietSeconds * 1000)) return;
    }
  }

  /** The next row to provision; rows whose provisioning is done (a failed copy resumed, a sync pass) go straight to copy. */
  const nextToProvision = (): BatchRow | undefined => {
    for (const r of state.rows) if (r.state === 'queued' && r.plan.kind === 'resume' && r.plan.from === 'copyData') r.state = 'ready';
    return state.rows.find((r) => r.state === 'queued');
  };
  const nextToCopy = (): BatchRow | undefined => state.rows.find((r) => r.state === 'ready');

  /**
   * Sliding window: at most `state.maxConcurrent` rows in flight (read anew for
   * every row, so a changed cap applies to the next start). `next` picks the
   * row; runRow marks it in flight at once, so it is not picked twice. Returns
   * false when this run has started its share of rows: the in-flight ones have
   * finished and the batch should continue-as-new.
   */
  async function runAll(next: () => BatchRow | undefined, phaseOf: (row: BatchRow) => MailboxPhase): Promise<boolean> {
    for (;;) {
      await waitForRoom();
      const row = next();
      if (!row) break;
      if (startedThisRun >= rowsPerRun || workflowInfo().continueAsNewSuggested) {
        await condition(() => inFlight.size === 0);
        return false;
      }
      startedThisRun++;
      const p: Promise<void> = runRow(row, phaseOf(row)).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    // wait for the window to empty; a row added meanwhile is started by the caller's next pass
    await condition(() => inFlight.size === 0);
    return true;
  }

  /** What a stopped batch does once its in-flight rows have stopped: mark waiting rows, report. */
  async function finishStopped(): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      setPhase('stopping');
      // Children are being cancelled; wait for each to record where it stopped.
      await Promise.allSettled([...inFlight]);
      for (const row of state.rows) {
        if (row.state === 'queued') {
          row.state = 'stopped';
          row.error = {
            code: 'NOT_STARTED',
            message: 'Waiting when the batch was stopped; not started',
            fix: 'Re-run the CSV or resume the row.',
          };
        }
      }
      setPhase('stopped');
      state.reports.push(...(await acts.sendBatchReport({ kind: 'stopped', ...reportInput(input, state) })));
    });
  }

  upsertSearchAttributes([
    { key: MailferryOrg, value: input.org },
    { key: MailferryBatch, value: input.batch },
  ]);

  const sync = input.source.kind === 'sync';
  let ending: 'done' | 'continue' = 'done';
  try {
    ending = await work.run(async () => {
      if (state.phase === 'scheduled') {
        const wait = Date.parse(input.startAfter ?? '') - Date.now();
        // a durable timer: survives worker restarts; `stop` cancels it with the scope
        if (wait > 0) await sleep(wait);
        setPhase('validating');
      }
      if (state.phase === 'validating') {
        await acts.testConnection({ settings: input.settings });
        const prepared = await acts.prepareRows({ org: input.org, batch: input.batch, settings: input.settings, source: input.source });
        state.rows = prepared.rows;
        state.rejected = prepared.rejected;
        setPhase('provisioning');
      }

      // Rows can arrive while the batch runs (`batch add`), so each pass takes whatever is waiting until nothing is.
      for (;;) {
        if (state.rows.some((r) => r.state === 'queued')) {
          setPhase('provisioning');
          if (!(await runAll(nextToProvision, (r) => (r.plan.kind === 'resetTargetAddress' ? 'resetTargetAddress' : 'provision'))))
            return 'continue';
        }
        // a sync pass changes no forwarding: nothing becomes ready, so no Mailboxes Ready e-mail
        if (!state.readyMailSent && !sync) {
          state.reports.push(...(await acts.sendBatchReport({ kind: 'mailboxesReady', ...reportInput(input, state) })));
        }
        state.readyMailSent = true;
        if (state.rows.some((r) => r.state === 'ready')) {
          setPhase('copying');
          if (!(await runAll(nextToCopy, () => 'copy'))) return 'continue';
        }
        if (state.rows.some((r) => r.state === 'queued' || r.state === 'ready')) continue;
        if (adding > 0) {
          await condition(() => adding === 0);
          continue;
        }
        if (input.completeAfter && !state.finalSyncDone) {
          // scheduled completion: wait (durably; `batch add` rows still run), then one last delta pass
          setPhase('awaitingCompletion');
          const until = Date.parse(input.completeAfter);
          const added = await condition(() => state.rows.some((r) => r.state === 'queued'), Math.max(1, until - Date.now()));
          if (added) continue;
          state.finalSyncDone = true;
          for (const r of state.rows) if (r.state === 'completed') r.state = 'ready';
          continue;
        }
        break;
      }
      setPhase('completed');
      state.reports.push(...(await acts.sendBatchReport({ kind: 'migrationComplete', ...reportInput(input, state) })));
      return 'done';
    });
  } catch (err) {
    if (!isCancellation(err) || !state.stopRequested) {
      setPhase('failed');
      await notifyOrganisation(input, state);
      throw err;
    }
    await finishStopped();
    return notifyOrganisation(input, state);
  }
  if (ending === 'continue') {
    // a stop that arrived while this run drained still stops the batch
    if (state.stopRequested) {
      await finishStopped();
      return notifyOrganisation(input, state);
    }
    await condition(allHandlersFinished);
    return continueAsNew<typeof batchWorkflow>({ ...input, carried: state });
  }
  return notifyOrganisation(input, state);
}

function reportInput(input: BatchInput, state: BatchState) {
  return {
    org: input.org,
    batch: input.batch,
    startedAt: input.startedAt,
    startedBy: input.startedBy,
    adminEmail: input.settings.adminEmail,
    notify: input.notify,
    status: summarise(input, state),
  };
}

async function notifyOrganisation(input: BatchInput, state: BatchState): Promise<BatchResult> {
  const result = resultOf(input, state);
  await CancellationScope.nonCancellable(() =>
    getExternalWorkflowHandle(organisationWorkflowId(input.org)).signal(batchFinishedSignal, result),
  );
  return result;
}
