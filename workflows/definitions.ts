/**
 * Signals, queries and updates the client and the workflows share. The client
 * imports these very objects, so a renamed signal cannot drift between the two
 * sides. The domain types and IDs live in shared/domain.ts (no Temporal
 * import); they are re-exported here for workflow code.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { RECORD_HANDLERS } from '../shared/domain';
import type {
  BatchResult,
  BatchStatus,
  CompleteMigrationResult,
  ConnectionSettings,
  MailboxOutcome,
  MailboxRecord,
  OrganisationState,
  Sealed,
  StartBatchRequest,
  ValidationIssue,
} from '../shared/domain';

export * from '../shared/domain';

export const batchStatusQuery = defineQuery<BatchStatus>('status');
/** `token`: the admin token for `stop` of this batch (shared/adminPath.ts); a stop without one is ignored, with a warning */
export const stopBatchSignal = defineSignal<[{ by: string; reason?: string; token: Sealed }]>('stop');
/** `batch add --csv F`: validates the CSV's rows like a batch start and queues the new ones; returns what it did. */
export const addRowsUpdate = defineUpdate<{ added: number; rejected: ValidationIssue[] }, [{ fileName: string; csv: Sealed }]>('addRows');
/** Changes the sliding window of a running batch (1–10); in-flight rows above a lowered cap finish first. */
export const setConcurrencyUpdate = defineUpdate<{ previous: number; now: number }, [number]>('setConcurrency');
export const organisationStateQuery = defineQuery<OrganisationState>('state');
/** Tests the settings (connection test + preflight) before keeping them; refuses with the test's error. */
export const setSettingsUpdate = defineUpdate<{ testedAt: string; serverVersion: string }, [ConnectionSettings]>('setSettings');
/** Returns the new batch's number and workflow ID, or refuses (one active batch at a time, no settings). */
export const startBatchUpdate = defineUpdate<{ batch: number; workflowId: string }, [StartBatchRequest]>('startBatch');
/** convert-to-meu: starts `<org>/convert/<n>` (workflows/convert.ts) and returns its ID; the client waits for its result. */
export const convertToMeuUpdate = defineUpdate<
  { workflowId: string },
  [{ by: string; mailboxes?: string[]; batch?: number; token: Sealed }]
>('convertToMeu');
/** rollback: refused unless the mailbox's copy completed; starts the mailbox's `rollback` run and returns its ID. */
export const rollbackMailboxUpdate = defineUpdate<{ workflowId: string }, [{ by: string; address: string; token: Sealed }]>(
  'rollbackMailbox',
);
/**
 * Complete Migration (DESIGN 11): refused while a batch is active; the organisation workflow ends after it.
 * Like convert-to-meu and rollback, it needs a fresh admin token (shared/adminPath.ts) the CLI seals for it.
 */
export const completeMigrationUpdate = defineUpdate<CompleteMigrationResult, [{ by: string; token: Sealed }]>('completeMigration');
/** Sent by a batch workflow when it ends: a nudge only; the organisation checks the batch's real state before it frees the slot. */
export const batchFinishedSignal = defineSignal<[BatchResult]>('batchFinished');

// the mailbox record (workflows/record.ts)
export const recordQuery = defineQuery<MailboxRecord>(RECORD_HANDLERS.query);
/** A mailbox run (or its batch, for a run that ended from outside) hands its outcome to the record. */
export const recordOutcomeSignal = defineSignal<[{ outcome: MailboxOutcome; runId: string }]>(RECORD_HANDLERS.outcome);
/**
 * setTargetAddress, before it writes: keeps `value` as the previous TargetAddress unless one is kept already; returns the kept one.
 * `address` names the mailbox, so the update replayed into another mailbox's record is refused.
 */
export const rememberPreviousTargetAddressUpdate = defineUpdate<string | null, [{ address: string; value: string | null }]>(
  RECORD_HANDLERS.rememberPrevious,
);
/** Complete Migration: the record has been reported and ends. */
/**
 * `by` names what closed the record (Complete Migration); the payload gate refuses a signal without an argument.
 * `address` names the mailbox: the close of a record of a completed organisation, replayed into another record, is ignored.
 */
export const closeRecordSignal = defineSignal<[{ by: string; address: string }]>(RECORD_HANDLERS.close);
