/**
 * Finishing a migration (seed steps 5 and 7): which mailboxes may become mail
 * users, the ledger entry a rollback starts from, and Complete Migration's
 * clean-up, warnings and final report across every batch.
 */
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { toCsv, writeReportFile } from '../shared/csv';
import { ORG_NAME_PATTERN, type ConnectionSettings, type MailboxOutcome, type RowState } from '../workflows/definitions';
import { consolidatedRows, CONSOLIDATED_COLUMNS } from './consolidated';
import { mapLimit } from './mapLimit';
import type { ActivityDeps } from './deps';
import { translated } from './failures';

const ANY_STATE: RowState[] = ['queued', 'provisioning', 'ready', 'copying', 'completed', 'failed', 'stopped', 'skipped', 'rolledBack'];

export interface ConversionPlan {
  eligible: string[];
  refused: { address: string; reason: string }[];
}

export interface FinishInput {
  org: string;
  settings: ConnectionSettings;
  by: string;
  batches: number[];
}

export interface FinishResult {
  /** cloud MEUs whose on-premises mailbox mailferry never migrated (a warning, not a stop) */
  notMigrated: { address: string; reason: string }[];
  mailboxes: number;
  batchRecordsDeleted: number;
  reports: string[];
}

export function createFinishActivities({ connectors, reports, logger }: ActivityDeps) {
  const { ledger } = connectors;
  return {
    /** convert-to-meu: only a mailbox whose data copy completed may lose its on-premises mailbox */
    async planConversion(input: { org: string; mailboxes?: string[]; batch?: number }): Promise<ConversionPlan> {
      return translated(async () => {
        const addresses =
          input.mailboxes ?? (input.batch ? await ledger.addressesOfBatch(input.org, input.batch, ANY_STATE, { laterRuns: true }) : []);
        const entries = await mapLimit(addresses, 8, (a) => ledger.lookup(input.org, a));
        const plan: ConversionPlan = { eligible: [], refused: [] };
        addresses.forEach((address, i) => {
          const entry = entries[i];
          const state = entry?.running ? 'running' : (entry?.outcome?.state ?? 'never migrated');
          if (state === 'completed') plan.eligible.push(address);
          else plan.refused.push({ address, reason: `its data copy is not complete (${state}): finish or resume it first` });
        });
        return plan;
      });
    },

    /** the ledger entry of one mailbox, for a rollback */
    async ledgerEntry(input: { org: string; address: string }): Promise<{ outcome: MailboxOutcome | null; running: boolean }> {
      return translated(async () => {
        const entry = await ledger.lookup(input.org, input.address);
        return { outcome: entry?.outcome ?? null, running: entry?.running ?? false };
      });
    },

    /**
     * Complete Migration: the final report per mailbox across all batches, the
     * MEUs never migrated, the batch workflows deleted (each batch's result
     * stays in the organisation's history and its reports on disk; the mailbox
     * runs stay: they are the ledger), and the final status e-mail.
     */
    async finishMigration(input: FinishInput): Promise<FinishResult> {
      if (!ORG_NAME_PATTERN.test(input.org)) throw new Error(`Refusing report path for organisation name ${JSON.stringify(input.org)}`);
      const ctx = Context.current();
      return translated(async () => {
        const rows = await consolidatedRows(ledger, input.org, () => ctx.heartbeat());
        const migrated = new Set(
          rows.filter((r) => r.State === 'completed' || r.State === 'rolledBack').map((r) => r.EmailAddress.toLowerCase()),
        );
        const known = new Map(rows.map((r) => [r.EmailAddress.toLowerCase(), r]));

        const cloud = connectors.cloudDirectory();
        let notMigrated: FinishResult['notMigrated'];
        try {
          notMigrated = (await cloud.listRecipients())
            .filter((r) => r.recipientType === 'MailUser' && !migrated.has(r.address.toLowerCase()))
            .map((r) => {
              const row = known.get(r.address.toLowerCase());
              return {
                address: r.address,
                reason: row ? `last run ${row.State} in batch ${row.Batches.split(' ').at(-1)}` : 'never in a batch',
              };
            })
            .sort((a, b) => a.address.localeCompare(b.address));
        } finally {
          await cloud.close().catch(() => undefined);
        }

        let batchRecordsDeleted = 0;
        for (const batch of input.batches) batchRecordsDeleted += await ledger.deleteBatchRecords(input.org, batch);

        const dir = join(reports.dir, input.org, 'final');
                const finalCsv = toCsv(rows, CONSOLIDATED_COLUMNS);
        const warningCsv = toCsv(
          notMigrated.map((n) => ({ EmailAddress: n.address, Reason: n.reason })),
          ['EmailAddress', 'Reason'],
        );
        const files = [
          { name: 'FinalReport.csv', content: finalCsv },
          { name: 'NotMigrated.csv', content: warningCsv },
        ];
        const paths = await Promise.all(
          files.map(async (f) => {
            const path = join(dir, f.name);
            await writeReportFile(path, f.content);
            return path;
          }),
        );
        const count = (state: string) => rows.filter((r) => r.State === state).length;
        const lines: [string, string][] = [
          ['Organisation', input.org],
          ['Completed by', input.by],
          ['Batches', String(input.batches.length)],
          ['Mailboxes migrated', String(count('completed'))],
          ['Mailboxes rolled back', String(count('rolledBack'))],
          ['Mailboxes not completed', String(rows.length - count('completed') - count('rolledBack'))],
          ['Mail users never migrated (warning)', String(notMigrated.length)],
          ['Messages copied', String(rows.reduce((n, r) => n + r.MessagesCopied, 0))],
        ];
        const title = `Migration completed: ${input.org}`;
        const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
        await connectors.mailer.send({
          from: reports.from,
          to: [input.settings.adminEmail],
          subject: `[mailferry] ${title} (${count('completed')} migrated, ${notMigrated.length} never migrated)`,
          text: `${title}\n\n${lines.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\nReports attached: ${files.map((f) => f.name).join(', ')}\n`,
          html: `<h2>${esc(title)}</h2><table>${lines.map(([k, v]) => `<tr><th align="left">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`,
          attachments: files.map((f) => ({ filename: f.name, content: f.content })),
        });
        logger.info(
          { org: input.org, mailboxes: rows.length, notMigrated: notMigrated.length, batchRecordsDeleted },
          'migration completed',
        );
        return { notMigrated, mailboxes: rows.length, batchRecordsDeleted, reports: paths };
      });
    },
  };
}
