/**
 * One row: one mailbox. Runs the staged-migration steps for one address, from
 * the step its record says is next, and returns its outcome (its result, or
 * the details of its failure) to the batch.
 *
 * Every run ends by handing its outcome to the mailbox's record
 * (workflows/record.ts), which outlives the run: that, not this closed run, is
 * what re-runs, rollback and the final report read.
 *
 * A batch runs a row in two runs of the same workflow ID: `provision`
 * (verifyMeu → convertToMailbox → setTargetAddress, one activity) and, after the batch's
 * Mailboxes Ready e-mail, `copy` (copyData). A re-run of a migrated row is a
 * `resetTargetAddress` run. `mailbox rollback` is a `rollback` run: it puts
 * back the targetAddress mailferry replaced, so mail flows on-premises again,
 * and leaves the cloud mailbox and its data alone.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { suggestedFix } from '../shared/errors';
import { MailferryFailureKind, MailferryState, MailferryStep } from '../shared/searchAttributes';
import { upsertChanged } from './searchAttributes';
import { requireIdentity } from './identity';
import {
  batchWorkflowId,
  mailboxWorkflowId,
  organisationWorkflowId,
  STEPS,
  type CopyFailureDetails,
  type CopyTotals,
  type MailboxInput,
  type MailboxOutcome,
  type ProvisioningProgress,
  type ProvisioningStep,
  type RowError,
  type RowState,
  type Step,
} from './definitions';

type Activities = ReturnType<typeof createActivities>;

/**
 * The provisioning steps as one activity task (idempotent sub-steps, progress in its heartbeat: activities/directory.ts),
 * and rollback's write: retried while a server is down; permanent errors are non-retryable.
 */
const directory = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 12 },
});

/** The copy heartbeats its checkpoint; a killed worker's copy is retried elsewhere from that checkpoint. */
const copy = proxyActivities<Activities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 20 },
});

/**
 * The record is written through the Temporal service: retried while it is briefly away. A local activity: one
 * signal-with-start, idempotent (the record keeps the last outcome of a run), so it needs no activity task's three
 * events and round trip through the server, only a marker in this run's history.
 */
const ledger = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 30 },
});

/** Hands the outcome to the record; also while the run is being cancelled (a stop), so the record says where it stopped. */
async function report(input: MailboxInput, outcome: MailboxOutcome): Promise<MailboxOutcome> {
  await CancellationScope.nonCancellable(() => ledger.recordOutcome({ org: input.org, outcome, runId: workflowInfo().runId }));
  // checkpoints and bad items stay with the record: the batch would carry them for every row
  return { ...outcome, checkpoint: undefined, davCheckpoint: undefined, badItemsFound: undefined, davSettled: undefined };
}

function stateWhileRunning(step: Step): RowState {
  return step === 'copyData' ? 'copying' : 'provisioning';
}

function toRowError(err: unknown): RowError {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const code = cause.type ?? 'UNKNOWN';
    return { code, message: cause.message, fix: suggestedFix(code) };
  }
  if (cause instanceof TimeoutFailure) {
    return { code: 'TIMEOUT', message: `The step timed out (${cause.timeoutType})`, fix: suggestedFix('COPY_FAILED') };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { code: 'UNKNOWN', message, fix: suggestedFix(undefined) };
}

export async function mailboxWorkflow(input: MailboxInput): Promise<MailboxOutcome> {
  // a rollback is the organisation's (mailbox rollback); every other run is its batch's
  requireIdentity({
    workflowId: mailboxWorkflowId(input.org, input.address),
    parent: input.phase === 'rollback' ? organisationWorkflowId(input.org) : batchWorkflowId(input.org, input.batch),
  });
  if (input.phase === 'rollback') return rollback(input);
  const outcome: MailboxOutcome = {
    address: input.address,
    batch: input.batch,
    state: 'provisioning',
    lastCompletedStep: input.startAt === STEPS[0] ? null : STEPS[STEPS.indexOf(input.startAt) - 1],
    copy: input.previous?.copy,
    previousTargetAddress: input.previous?.previousTargetAddress,
    password: input.password,
    forceChangePassword: input.forceChangePassword,
  };
  const show = (step: Step | null, state: RowState, failureKind?: string) => {
    outcome.state = state;
    upsertChanged([
      { key: MailferryStep, value: step ?? 'none' },
      { key: MailferryState, value: state },
      ...(failureKind ? [{ key: MailferryFailureKind, value: failureKind }] : []),
    ]);
  };

  let current: Step | null = null;
  const at = (step: Step) => {
    current = step;
    show(step, stateWhileRunning(step));
  };
  try {
    if (input.phase === 'copy') {
      at('copyData');
      await copyData(input, outcome);
      outcome.lastCompletedStep = 'copyData';
    } else {
      await provision(input, outcome, at);
    }
    const done: RowState = input.phase === 'provision' ? 'ready' : 'completed';
    show(current, done);
    return await report(input, outcome);
  } catch (err) {
    const stopped = isCancellation(err);
    const error: RowError = stopped
      ? {
          code: 'STOPPED',
          message: `Stopped by the admin during ${current}; the step was not completed`,
          fix: 'Re-run the batch or `mailferry batch resume --mailbox <address>` to continue from this step.',
        }
      : toRowError(err);
    const subStep = input.phase === 'copy' ? undefined : failedSubStep(err);
    if (subStep) {
      // the sub-steps before the failed one are done (in this run, or before the row's resume point)
      current = subStep;
      outcome.lastCompletedStep = STEPS[STEPS.indexOf(subStep) - 1] ?? null;
    }
    outcome.failedStep = current ?? undefined;
    outcome.error = error;
    show(current, stopped ? 'stopped' : 'failed', error.code);
    const reported = await report(input, outcome);
    throw ApplicationFailure.create({
      type: error.code,
      message: `${input.address}: ${current} failed: ${error.message}`,
      nonRetryable: true,
      details: [reported],
    });
  }
}

/** A provisioning sub-step's failure names it (its details, or after a timeout the activity's last heartbeat). */
function failedSubStep(err: unknown): ProvisioningStep | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (cause instanceof ApplicationFailure) return (cause.details?.[0] as ProvisioningProgress | undefined)?.step;
  if (cause instanceof TimeoutFailure) return (cause.lastHeartbeatDetails as ProvisioningProgress | undefined)?.step;
  return undefined;
}

/**
 * verifyMeu → convertToMailbox → setTargetAddress from the row's resume point (a re-run of a migrated row: only
 * setTargetAddress), one activity task for all three unless Microsoft 365 creates the mailbox later: then the wait,
 * and a second call from setTargetAddress. `at` shows the step on the run; a failure names its sub-step (failedSubStep).
 */
async function provision(input: MailboxInput, outcome: MailboxOutcome, at: (step: Step) => void): Promise<void> {
  const { settings, address } = input;
  let from: ProvisioningStep = input.phase === 'resetTargetAddress' || input.startAt === 'copyData' ? 'setTargetAddress' : input.startAt;
  at(from);
  for (;;) {
    const done = await directory.provisionMailbox({
      org: input.org,
      settings,
      address,
      forceChangePassword: input.forceChangePassword,
      password: input.password,
      from,
    });
    if (!done.pending) {
      // the record's previous value, kept the first time mailferry changed it (absent: forwarding was ours already)
      if (done.previous !== undefined) outcome.previousTargetAddress = done.previous;
      outcome.lastCompletedStep = 'setTargetAddress';
      return;
    }
    outcome.lastCompletedStep = 'verifyMeu';
    at('convertToMailbox');
    await untilMailboxExists(input);
    outcome.lastCompletedStep = 'convertToMailbox';
    from = 'setTargetAddress';
    at(from);
  }
}

/** What a failed copy activity had done: its failure's details, or after a heartbeat timeout its last heartbeat. */
function copyFailureDetails(err: unknown): CopyFailureDetails {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (cause instanceof ApplicationFailure) return (cause.details?.[0] as CopyFailureDetails | undefined) ?? {};
  if (cause instanceof TimeoutFailure) return (cause.lastHeartbeatDetails as CopyFailureDetails | undefined) ?? {};
  return {};
}

/**
 * Mail, then contacts and calendars. The totals grow as each part finishes
 * and a part that fails still adds what it copied, so a row whose mail
 * copied in full and whose calendar copy failed reports its messages; both
 * checkpoints and the bad items met go to the record.
 */
async function copyData(input: MailboxInput, outcome: MailboxOutcome): Promise<void> {
  const { settings, address } = input;
  const before = outcome.copy;
  /** adds one part's copies; the mail part also says what the target held and what the rules left out */
  const totals = (part: CopyFailureDetails['copied'], mail?: { messagesExisting: number; badItems: number; reconnects: number; messagesSkipped?: number }) => {
    const now = outcome.copy as CopyTotals;
    outcome.copy = {
      ...now,
      messagesCopied: now.messagesCopied + (part?.messagesCopied ?? 0),
      bytesCopied: now.bytesCopied + (part?.bytesCopied ?? 0),
      contactsCopied: now.contactsCopied + (part?.contactsCopied ?? 0),
      eventsCopied: now.eventsCopied + (part?.eventsCopied ?? 0),
      ...(mail && {
        // A pass counts everything on the target when it started as existing, earlier passes' copies included:
        // keep only what mailferry did not copy itself, so copied + existing is what the target holds.
        messagesExisting: Math.max(0, mail.messagesExisting - (before?.messagesCopied ?? 0)),
        badItems: mail.badItems,
        reconnects: mail.reconnects,
        messagesSkipped: mail.messagesSkipped,
      }),
    };
  };
  const found = (items: CopyFailureDetails['badItems']) => {
    if (items?.length) outcome.badItemsFound = [...(outcome.badItemsFound ?? []), ...items];
  };
  outcome.copy = before ?? { messagesCopied: 0, bytesCopied: 0, messagesExisting: 0, badItems: 0, contactsCopied: 0, eventsCopied: 0 };
  let mail: Awaited<ReturnType<Activities['copyMail']>>;
  try {
    // no checkpoint yet in this run: the copy reads the record's
    mail = await copy.copyMail({ org: input.org, settings, address, checkpoint: outcome.checkpoint, syncFlags: input.delta });
    outcome.checkpoint = mail.checkpoint;
    totals(mail, mail);
    found(mail.badItemsFound);
  } catch (err) {
    const details = copyFailureDetails(err);
    // a mail copy failed past the bad-item limit hands back no checkpoint and no list: its resume meets them again
    outcome.checkpoint = details.checkpoint ?? outcome.checkpoint;
    totals(details.copied);
    throw err;
  }
  if (!mail.pimItems) {
    // no contact and no event on the source: nothing for the DAV copy to do, and no activity task for it
    outcome.davCheckpoint = null;
    outcome.davSettled = true;
    return;
  }
  try {
    const dav = await copy.copyContactsAndCalendars({ org: input.org, settings, address });
    outcome.davCheckpoint = dav.checkpoint;
    outcome.davSettled = true;
    totals(dav);
    const notInvited = (before?.meetingsNotInvited ?? 0) + (dav.attendees && !dav.attendees.invited ? dav.attendees.events : 0);
    if (notInvited > 0) outcome.copy.meetingsNotInvited = notInvited;
    // results recorded before the DAV copy listed its bad items carry none
    outcome.copy.badItems += dav.badItems?.length ?? 0;
    found(dav.badItemsFound);
  } catch (err) {
    const details = copyFailureDetails(err);
    if (details.checkpoint !== undefined) outcome.davCheckpoint = details.checkpoint;
    totals(details.copied);
    outcome.copy.badItems += details.badItems?.length ?? 0;
    found(details.badItems);
    throw err;
  }
}

/**
 * Microsoft 365 creates the mailbox minutes to hours after the licence: one
 * activity whose retries are the polls (they add nothing to the history), so
 * the wait survives worker restarts; the activity itself fails it for good at
 * the admin's timeout, counted from the licence, so a resumed row does not
 * start the clock again.
 */
async function untilMailboxExists(input: MailboxInput): Promise<void> {
  const target = input.settings.target;
  const wait = target?.kind === 'm365' ? target : { provisioningTimeoutMinutes: 24 * 60, provisioningPollSeconds: 60 };
  const poll = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    // a backstop for a Graph that never answers; the activity's own check normally ends the wait first
    scheduleToCloseTimeout: `${wait.provisioningTimeoutMinutes * 2 + 10} minutes`,
    retry: { initialInterval: `${wait.provisioningPollSeconds} seconds`, backoffCoefficient: 1 },
  });
  await poll.awaitMailbox({ settings: input.settings, address: input.address, timeoutMinutes: wait.provisioningTimeoutMinutes });
}

/** Undo forwarding: the record keeps the copy totals and checkpoint, so a later re-run only resets forwarding. */
async function rollback(input: MailboxInput): Promise<MailboxOutcome> {
  upsertChanged([
    { key: MailferryStep, value: 'rollback' },
    { key: MailferryState, value: 'provisioning' },
  ]);
  const outcome: MailboxOutcome = {
    address: input.address,
    batch: input.batch,
    state: 'rolledBack',
    lastCompletedStep: 'copyData',
    copy: input.previous?.copy,
    previousTargetAddress: input.previous?.previousTargetAddress,
    password: input.password,
    forceChangePassword: input.forceChangePassword,
  };
  try {
    await directory.restoreTargetAddress({
      settings: input.settings,
      address: input.address,
      previous: outcome.previousTargetAddress ?? null,
    });
  } catch (err) {
    const error = toRowError(err);
    upsertChanged([
      { key: MailferryState, value: 'failed' },
      { key: MailferryFailureKind, value: error.code },
    ]);
    // the record stays that of the completed migration: forwarding still points at the cloud
    const kept: MailboxOutcome = { ...outcome, state: 'completed', error };
    const reported = await report(input, kept);
    throw ApplicationFailure.create({
      type: error.code,
      message: `${input.address}: rollback failed: ${error.message}`,
      nonRetryable: true,
      details: [reported],
    });
  }
  upsertChanged([{ key: MailferryState, value: 'rolledBack' }]);
  return report(input, outcome);
}
