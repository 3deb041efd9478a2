/**
 * The record of one mailbox (`<org>/record/<address>`): open from the first
 * time mailferry touches the mailbox until Complete Migration closes it, so
 * what the mailbox reached outlives the namespace's retention of the runs
 * that did the work. Mailbox runs hand it their outcome; it answers `record`
 * with everything (checkpoint included) and keeps a small summary in its memo
 * and search attributes, so a visibility list reads thousands of records at
 * once. Continues-as-new well before its history grows large.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { recordVisibility } from '../shared/recordVisibility';
import {
  closeRecordSignal,
  recordOutcomeSignal,
  recordQuery,
  recordWorkflowId,
  emptyRecord,
  recordStart,
  rememberPreviousTargetAddressUpdate,
  withOutcome,
  type MailboxRecord,
  type RecordStart,
  type RecordSummary,
} from './definitions';
import { upsertChanged } from './searchAttributes';
import { requireIdentity } from './identity';

export interface RecordInput extends RecordStart {
  carried?: MailboxRecord;
}

/** Changes per run before continue-as-new: each is a handful of events, so a run stays far below the server's limits. */
const CHANGES_PER_RUN = 200;

export async function mailboxRecordWorkflow(input: RecordInput): Promise<void> {
  requireIdentity({ workflowId: recordWorkflowId(input.org, input.address), carried: input.carried !== undefined });
  let record: MailboxRecord = input.carried ?? emptyRecord(input.org, input.address, new Date().toISOString());
  let changes = 0;
  let closed = false;

  // Records stay open for the weeks of a migration, so a deployment finds them running: those started before
  // the record published once per workflow task go on publishing at every change, as their histories say. A start
  // that names it needs no patch: patched() is asked only of runs started before the start input named it.
  const oncePerTask = input.publish === 'oncePerTask' || patched('record-publishes-once-per-task');
  /** whether a change since the last publish still has to reach the memo and search attributes */
  let unpublished = oncePerTask;
  const changed = () => {
    changes++;
    if (oncePerTask) unpublished = true;
    else publishEach();
  };
  const publishEach = () => {
    record.updatedAt = new Date().toISOString();
    const { memo, searchAttributes } = recordVisibility(record);
    upsertMemo(memo);
    upsertChanged(searchAttributes);
  };
  /**
   * Once per workflow task, after its handlers: the first task of a record started with its first change (an
   * update- or signal-with-start) publishes once, not once for the start and again for the change; and not at all
   * when the start already gave the memo this change leads to (the ledger starts a record with it), but for the time.
   */
  const publish = () => {
    unpublished = false;
    const shown = workflowInfo().memo?.record as RecordSummary | undefined;
    const { memo, searchAttributes } = recordVisibility({ ...record, updatedAt: shown?.updatedAt ?? record.updatedAt });
    if (!shown || JSON.stringify(shown) !== JSON.stringify(memo.record)) {
      record.updatedAt = new Date().toISOString();
      upsertMemo(recordVisibility(record).memo);
    }
    upsertChanged(searchAttributes);
  };
  /** a change copied out of another mailbox's record (its encrypted payload replayed here) is not this mailbox's */
  const othersChange = (what: string, address: string) => {
    if (address.toLowerCase() === record.address.toLowerCase()) return false;
    log.warn(
      `Refused the ${what} for ${address} sent to the record of ${record.address}: a record takes changes of its own mailbox only. Nothing was changed.`,
      { code: 'IDENTITY_REFUSED' },
    );
    return true;
  };

  setHandler(recordQuery, () => record);
  setHandler(recordOutcomeSignal, ({ outcome, runId }) => {
    if (othersChange('outcome', outcome.address)) return;
    record = withOutcome(record, outcome, runId, new Date().toISOString());
    changed();
  });
  setHandler(
    rememberPreviousTargetAddressUpdate,
    (change) => {
      // histories written before the update named its mailbox carry the bare value; the validator refuses that shape in new calls
      const value = typeof change === 'object' && change !== null ? change.value : (change as string | null);
      if (record.previousTargetAddress === undefined) {
        record.previousTargetAddress = value;
        changed();
      }
      return record.previousTargetAddress ?? null;
    },
    {
      // rejected before it reaches history: the caller learns why
      validator: (change) => {
        const address: unknown = typeof change === 'object' && change !== null ? change.address : undefined;
        if (typeof address !== 'string' || address.toLowerCase() !== record.address.toLowerCase())
          throw new Error(
            `Refused a previous TargetAddress for ${String(address ?? '(no mailbox named)')} sent to the record of ${record.address}: a record takes changes of its own mailbox only`,
          );
      },
    },
  );
  setHandler(closeRecordSignal, ({ address }) => {
    if (othersChange('close', String(address))) return;
    closed = true;
  });

  if (!oncePerTask) changed(); // how those runs began, after their handlers: a publish, counted as a change
  const due = () => closed || changes >= CHANGES_PER_RUN || workflowInfo().continueAsNewSuggested;
  for (;;) {
    await condition(() => unpublished || due());
    if (unpublished) publish();
    if (due()) break;
  }
  await condition(allHandlersFinished);
  if (unpublished) publish();
  // the next run starts afresh, so it publishes once per task whatever this one did
  if (!closed) await continueAsNew<typeof mailboxRecordWorkflow>({ ...recordStart(input.org, input.address), carried: record });
}
