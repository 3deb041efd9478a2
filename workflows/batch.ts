/**
 * One batch: one CSV (or a resume of failed rows). Validates, tests the
 * connection and preflight, provisions every valid row with at most N
 * mailboxes active at once, sends Mailboxes Ready, copies the data (same cap)
 * and sends Migration Complete. `stop` cancels in-flight rows at once.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { suggestedFix } from '../shared/errors';
import { MailferryBatch, MailferryMailbox, MailferryOrg, MailferryState, MailferryStep } from '../shared/searchAttributes';
import {
  batchFinishedSignal,
  batchStatusQuery,
  mailboxWorkflowId,
  organisationWorkflowId,
  stopBatchSignal,
  type BatchInput,
  type BatchPhase,
  type BatchResult,
  type BatchRow,
  type BatchState,
  type BatchStatus,
  type MailboxInput,
  type MailboxOutcome,
  type MailboxPhase,
  type RowState,
} from './definitions';
import { mailboxWorkflow } from './mailbox';

type Activities = ReturnType<typeof createActivities>;

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const ACTIVE: RowState[] = ['provisioning', 'copying'];
const CREATED: RowState[] = ['ready', 'copying', 'completed'];

export function summarise(input: BatchInput, state: BatchState): BatchStatus {
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
    maxConcurrent: input.settings.maxConcurrentMailboxes,
    // passwords and checkpoints stay out of what the CLI prints
    rows: state.rows.map(({ password: _p, checkpoint: _c, ...row }) => ({ ...row, fix: row.error?.fix })),
    reports: state.reports,
  };
}

function resultOf(input: BatchInput, state: BatchState): BatchResult {
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
    messagesCopied: sum((r) => r.copy?.messagesCopied ?? 0),
    bytesCopied: sum((r) => r.copy?.bytesCopied ?? 0),
    reports: state.reports,
  };
}

/** The ledger entry a finished or failed mailbox run left behind. */
function outcomeOf(err: unknown): MailboxOutcome | undefined {
  if (err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure) {
    return err.cause.details?.[0] as MailboxOutcome | undefined;
  }
  return undefined;
}

export async function batchWorkflow(input: BatchInput): Promise<BatchResult> {
  const state: BatchState = input.carried ?? {
    phase: 'validating',
    rows: [],
    rejected: [],
    stopRequested: false,
    reports: [],
    readyMailSent: false,
  };
  const work = new CancellationScope();
  const inFlight = new Set<Promise<void>>();

  setHandler(batchStatusQuery, () => summarise(input, state));
  setHandler(stopBatchSignal, () => {
    if (state.stopRequested || ['completed', 'stopped', 'failed'].includes(state.phase)) return;
    state.stopRequested = true;
    work.cancel();
  });

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
      outcome = await child.result();
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

  /** Sliding window: at most `maxConcurrentMailboxes` rows in flight; stops taking rows when stopped. */
  async function runAll(rows: BatchRow[], phaseOf: (row: BatchRow) => MailboxPhase): Promise<void> {
    for (const row of rows) {
      await condition(() => inFlight.size < input.settings.maxConcurrentMailboxes);
      const p: Promise<void> = runRow(row, phaseOf(row)).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await condition(() => inFlight.size === 0);
  }

  upsertSearchAttributes([
    { key: MailferryOrg, value: input.org },
    { key: MailferryBatch, value: input.batch },
  ]);

  try {
    await work.run(async () => {
      if (!input.carried) {
        setPhase('validating');
        await acts.testConnection({ settings: input.settings });
        const prepared = await acts.prepareRows({ org: input.org, batch: input.batch, settings: input.settings, source: input.source });
        state.rows = prepared.rows;
        state.rejected = prepared.rejected;
      }

      setPhase('provisioning');
      const toProvision = state.rows.filter((r) => r.state === 'queued' && !(r.plan.kind === 'resume' && r.plan.from === 'copyData'));
      for (const r of state.rows) if (r.plan.kind === 'resume' && r.plan.from === 'copyData') r.state = 'ready';
      await runAll(toProvision, (r) => (r.plan.kind === 'resetTargetAddress' ? 'resetTargetAddress' : 'provision'));

      state.reports.push(...(await acts.sendBatchReport({ kind: 'mailboxesReady', ...reportInput(input, state) })));
      state.readyMailSent = true;

      setPhase('copying');
      await runAll(
        state.rows.filter((r) => r.state === 'ready'),
        () => 'copy',
      );
      setPhase('completed');
      state.reports.push(...(await acts.sendBatchReport({ kind: 'migrationComplete', ...reportInput(input, state) })));
    });
  } catch (err) {
    if (!isCancellation(err) || !state.stopRequested) {
      setPhase('failed');
      await notifyOrganisation(input, state);
      throw err;
    }
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
