/**
 * The consolidated report: one row per mailbox across every batch of the
 * organisation, read from the mailbox records in one visibility list (their
 * memo holds the latest outcome). Complete Migration attaches it as
 * FinalReport.csv; `mailferry reports consolidated` prints it at any time.
 */
import type { Ledger } from '../connectors/ledger/types';
import type { RecordSummary } from '../shared/domain';

export const CONSOLIDATED_COLUMNS = [
  'EmailAddress',
  'Batches',
  'State',
  'LastCompletedStep',
  'FailedStep',
  'MessagesCopied',
  'BytesCopied',
  'ItemsSkipped',
  'ContactsCopied',
  'EventsCopied',
  'ErrorCode',
  'Error',
  'SuggestedFix',
] as const;

export type ConsolidatedRow = Record<(typeof CONSOLIDATED_COLUMNS)[number], string | number> & {
  EmailAddress: string;
  Batches: string;
  State: string;
  MessagesCopied: number;
};

function rowOf(r: RecordSummary): ConsolidatedRow {
  const o = r.outcome;
  return {
    EmailAddress: r.address,
    Batches: r.batches.join(' '),
    State: o?.state ?? 'unknown',
    LastCompletedStep: o?.lastCompletedStep ?? '',
    FailedStep: o?.failedStep ?? '',
    MessagesCopied: o?.copy?.messagesCopied ?? 0,
    BytesCopied: o?.copy?.bytesCopied ?? 0,
    ItemsSkipped: o?.copy?.badItems ?? 0,
    ContactsCopied: o?.copy?.contactsCopied ?? 0,
    EventsCopied: o?.copy?.eventsCopied ?? 0,
    ErrorCode: o?.error?.code ?? '',
    Error: o?.error?.message ?? '',
    SuggestedFix: o?.error?.fix ?? '',
  };
}

export async function consolidatedRows(ledger: Ledger, org: string): Promise<ConsolidatedRow[]> {
  return (await ledger.mailboxes(org)).map(rowOf);
}
