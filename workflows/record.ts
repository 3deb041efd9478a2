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
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { MailferryBatch, MailferryMailbox, MailferryOrg, MailferryState, MailferryStep } from '../shared/searchAttributes';
import {
  closeRecordSignal,
  mergeBadItems,
  recordOutcomeSignal,
  recordQuery,
  recordWorkflowId,
  rememberPreviousTargetAddressUpdate,
  summariseRecord,
  type MailboxRecord,
} from './definitions';
import { upsertChanged } from './searchAttributes';
import { requireIdentity } from './identity';

export interface RecordInput {
  org: string;
  address: string;
  carried?: MailboxRecord;
}

/** Changes per run before continue-as-new: each is a handful of events, so a run stays far below the server's limits. */
const CHANGES_PER_RUN = 200;

export async function mailboxRecordWorkflow(input: RecordInput): Promise<void> {
  requireIdentity({ workflowId: recordWorkflowId(input.org, input.address), carried: input.carried !== undefined });
  const record: MailboxRecord = input.carried ?? {
    org: input.org,
    address: input.address,
    batches: [],
    outcome: null,
    runId: null,
    updatedAt: new Date().toISOString(),
  };
  let changes = 0;
  let closed = false;

  const publish = () => {
    changes++;
    record.updatedAt = new Date().toISOString();
    upsertMemo({ record: summariseRecord(record) });
    upsertChanged([
      { key: MailferryOrg, value: record.org },
      { key: MailferryMailbox, value: record.address },
      { key: MailferryBatch, value: record.outcome?.batch ?? 0 },
      { key: MailferryState, value: record.outcome?.state ?? 'queued' },
      { key: MailferryStep, value: record.outcome?.failedStep ?? record.outcome?.lastCompletedStep ?? 'none' },
    ]);
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
    // a run that copied nothing yet (a reset, a rollback, a copy that failed before its first checkpoint) keeps the last one;
    // a finished contacts and calendars copy leaves null, so the next pass reads every collection again (new items)
    const { badItemsFound, davSettled, ...rest } = outcome;
    record.outcome = {
      ...rest,
      checkpoint: outcome.checkpoint ?? record.outcome?.checkpoint,
      davCheckpoint: outcome.davCheckpoint !== undefined ? outcome.davCheckpoint : record.outcome?.davCheckpoint,
    };
    // each pass's bad items join the list once: a repeated signal or a later pass meeting the same item adds nothing
    if (badItemsFound?.length || (davSettled && record.badItems))
      record.badItems = mergeBadItems(record.badItems, badItemsFound ?? [], { davSettled });
    record.runId = runId;
    if (!record.batches.includes(outcome.batch)) record.batches = [...record.batches, outcome.batch].sort((a, b) => a - b);
    // a run started before the record kept a previous value may still carry one: the first kept wins
    if (record.previousTargetAddress === undefined && outcome.previousTargetAddress !== undefined)
      record.previousTargetAddress = outcome.previousTargetAddress;
    publish();
  });
  setHandler(
    rememberPreviousTargetAddressUpdate,
    (change) => {
      // histories written before the update named its mailbox carry the bare value; the validator refuses that shape in new calls
      const value = typeof change === 'object' && change !== null ? change.value : (change as string | null);
      if (record.previousTargetAddress === undefined) {
        record.previousTargetAddress = value;
        publish();
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

  publish();
  await condition(() => closed || changes >= CHANGES_PER_RUN || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  if (!closed) await continueAsNew<typeof mailboxRecordWorkflow>({ org: input.org, address: input.address, carried: record });
}
