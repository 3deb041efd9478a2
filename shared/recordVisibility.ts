/**
 * What the visibility store shows of a mailbox record: its search attributes
 * and the summary in its memo. The record workflow upserts them on every
 * change; the ledger gives the same ones when it starts a record, so a new
 * record is listable with its outcome before a worker has run it.
 */
import type { SearchAttributePair } from '@temporalio/common';
import { summariseRecord, type MailboxRecord, type RecordSummary } from './domain';
import { MailferryBatch, MailferryMailbox, MailferryOrg, MailferryState, MailferryStep } from './searchAttributes';

export function recordVisibility(record: MailboxRecord): { searchAttributes: SearchAttributePair[]; memo: { record: RecordSummary } } {
  return {
    memo: { record: summariseRecord(record) },
    searchAttributes: [
      { key: MailferryOrg, value: record.org },
      { key: MailferryMailbox, value: record.address },
      { key: MailferryBatch, value: record.outcome?.batch ?? 0 },
      { key: MailferryState, value: record.outcome?.state ?? 'queued' },
      { key: MailferryStep, value: record.outcome?.failedStep ?? record.outcome?.lastCompletedStep ?? 'none' },
    ],
  };
}
