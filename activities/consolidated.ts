/**
 * The consolidated report: one row per mailbox across every batch of the
 * organisation, read from the ledger (each mailbox's last run). Complete
 * Migration attaches it as FinalReport.csv; `mailferry reports consolidated`
 * prints it at any time.
 */
import type { Ledger } from '../connectors/ledger/types';
import type { MailboxOutcome } from '../workflows/definitions';
import { mapLimit } from './mapLimit';

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

function rowOf(address: string, batches: number[], o: MailboxOutcome | null, running: boolean): ConsolidatedRow {
  return {
    EmailAddress: address,
    Batches: batches.join(' '),
    State: running ? 'running' : (o?.state ?? 'unknown'),
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

/** `beat` is called per mailbox so a long read can heartbeat. */
export async function consolidatedRows(ledger: Ledger, org: string, beat: () => void = () => undefined): Promise<ConsolidatedRow[]> {
  const mailboxes = await ledger.mailboxes(org);
  const entries = await mapLimit(mailboxes, 8, async (m) => {
    beat();
    return ledger.lookup(org, m.address);
  });
  return mailboxes.map((m, i) => rowOf(m.address, m.batches, entries[i]?.outcome ?? null, entries[i]?.running ?? false));
}
