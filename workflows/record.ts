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
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { recordVisibility } from '../shared/recordVisibility';
import {
  closeRecordSignal,
  recordOutcomeSignal,
  recordQuery,
  emptyRecord,
  rememberPreviousTargetAddressUpdate,
  withOutcome,
  type MailboxRecord,
} from './definitions';

export interface RecordInput {
  org: string;
  address: string;
  carried?: MailboxRecord;
}

/** Changes per run before continue-as-new: each is a handful of events, so a run stays far below the server's limits. */
const CHANGES_PER_RUN = 200;

export async function mailboxRecordWorkflow(input: RecordInput): Promise<void> {
  let record: MailboxRecord = input.carried ?? emptyRecord(input.org, input.address, new Date().toISOString());
  let changes = 0;
  let closed = false;

  const publish = () => {
    changes++;
    record.updatedAt = new Date().toISOString();
    const { memo, searchAttributes } = recordVisibility(record);
    upsertMemo(memo);
    upsertSearchAttributes(searchAttributes);
  };

  setHandler(recordQuery, () => record);
  setHandler(recordOutcomeSignal, ({ outcome, runId }) => {
    record = withOutcome(record, outcome, runId, new Date().toISOString());
    publish();
  });
  setHandler(rememberPreviousTargetAddressUpdate, (value) => {
    if (record.previousTargetAddress === undefined) {
      record.previousTargetAddress = value;
      publish();
    }
    return record.previousTargetAddress ?? null;
  });
  setHandler(closeRecordSignal, () => {
    closed = true;
  });

  publish();
  await condition(() => closed || changes >= CHANGES_PER_RUN || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  if (!closed) await continueAsNew<typeof mailboxRecordWorkflow>({ org: input.org, address: input.address, carried: record });
}
