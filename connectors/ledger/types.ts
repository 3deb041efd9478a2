/**
 * The per-mailbox ledger: what the last mailbox run of an address left
 * behind. It is read from Temporal itself (each mailbox workflow is the record
 * of its own progress), so the organisation workflow's state stays small at
 * 50,000 mailboxes.
 */
import type { MailboxOutcome, RowState } from '../../workflows/definitions';

export interface LedgerEntry {
  /** null while a run of this address is still open */
  outcome: MailboxOutcome | null;
  running: boolean;
  workflowId: string;
  runId: string;
}

export interface Ledger {
  lookup(org: string, address: string): Promise<LedgerEntry | null>;
  /**
   * addresses whose latest run belongs to `batch` and is in one of `states`;
   * with `laterRuns`, addresses that were in `batch` whatever batch ran them last (a sync pass, a rollback)
   */
  addressesOfBatch(org: string, batch: number, states: RowState[], options?: { laterRuns?: boolean }): Promise<string[]>;
  /** every address that ever had a mailbox run in `org`, with the batches that ran it (ascending) */
  mailboxes(org: string): Promise<{ address: string; batches: number[] }[]>;
  /** Complete Migration's clean-up: deletes every run of a finished batch workflow; returns how many */
  deleteBatchRecords(org: string, batch: number): Promise<number>;
}
