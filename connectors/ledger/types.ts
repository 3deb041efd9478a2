/**
 * The per-mailbox ledger: each mailbox's record, an open workflow that lives
 * until Complete Migration (workflows/record.ts), so it outlives the
 * namespace's retention of the runs that did the work. Bulk reads use the
 * records' memo through visibility lists; nothing lists every run of every
 * mailbox.
 */
import type { BatchResult, MailboxOutcome, MailboxRecord, RecordSummary, RowState } from '../../shared/domain';

/** A batch's execution as the server reports it; `result` when it completed. */
export interface BatchExecution {
  /** RUNNING, COMPLETED, FAILED, TERMINATED, TIMED_OUT, CANCELED, CONTINUED_AS_NEW, or NOT_FOUND */
  status: string;
  result?: BatchResult;
}

export interface LedgerEntry {
  /** the latest outcome; while a run is open, the one before it (or null) */
  outcome: MailboxOutcome | null;
  running: boolean;
  /** the open run's workflow ID while `running` */
  workflowId: string;
  batches: number[];
}

export interface Ledger {
  lookup(org: string, address: string): Promise<LedgerEntry | null>;
  /** the record of one mailbox as it stands (its bad-item list included), without asking about its runs */
  recordOf(org: string, address: string): Promise<MailboxRecord | null>;
  /**
   * `lookup` for many mailboxes at once (a 1,000-row re-run plan): a few
   * visibility lists, no call per mailbox. Outcomes come from the records'
   * summaries, so they carry no checkpoint and no password. Keyed by lower-case address.
   */
  lookupMany(org: string, addresses: string[]): Promise<Map<string, LedgerEntry | null>>;
  /** a mailbox run's (or its batch's) report of how the run ended */
  record(org: string, outcome: MailboxOutcome, runId: string): Promise<void>;
  /** keeps `value` as the previous TargetAddress unless one is kept already; returns the kept one */
  rememberPreviousTargetAddress(org: string, address: string, value: string | null): Promise<string | null>;
  /**
   * addresses whose latest run belongs to `batch` and is in one of `states`;
   * with `laterRuns`, addresses that were in `batch` whatever batch ran them last (a sync pass, a rollback)
   */
  addressesOfBatch(org: string, batch: number, states: RowState[], options?: { laterRuns?: boolean }): Promise<string[]>;
  /** every record of `org`, sorted by address: one visibility list, no per-mailbox call */
  mailboxes(org: string): Promise<RecordSummary[]>;
  /** the latest run of a batch's workflow, as the server says (never a signal's word for it) */
  batchExecution(org: string, batch: number): Promise<BatchExecution>;
  /** Complete Migration's clean-up: deletes every run of a finished batch workflow; returns how many */
  deleteBatchRecords(org: string, batch: number): Promise<number>;
  /** Complete Migration's last step: every record of `org` ends; returns how many were open */
  closeRecords(org: string, beat?: () => void): Promise<number>;
}
