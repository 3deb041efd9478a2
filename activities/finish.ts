/**
 * Finishing a migration (seed steps 5 and 7): which mailboxes may become mail
 * users, the record a rollback starts from, and Complete Migration's final
 * report, warnings and clean-up across every batch.
 */
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { toCsv, writeReportFile } from '../shared/csv';
import {
  ORG_NAME_PATTERN,
  reportMessageId,
  type ConnectionSettings,
  type FinalReport,
  type MailboxOutcome,
  type RowState,
} from '../shared/domain';
import { consolidatedRows, CONSOLIDATED_COLUMNS } from './consolidated';
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

export function createFinishActivities({ connectors, reports, logger }: ActivityDeps) {
  const { ledger } = connectors;
  return {
    /** convert-to-meu: only a mailbox whose data copy completed may lose its on-premises mailbox */
    async planConversion(input: { org: string; mailboxes?: string[]; batch?: number }): Promise<ConversionPlan> {
      return translated(async () => {
        const addresses =
          input.mailboxes ?? (input.batch ? await ledger.addressesOfBatch(input.org, input.batch, ANY_STATE, { laterRuns: true }) : []);
        const entries = await ledger.lookupMany(input.org, addresses);
        const plan: ConversionPlan = { eligible: [], refused: [] };
        addresses.forEach((address) => {
          const entry = entries.get(address.toLowerCase()) ?? null;
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
     * Complete Migration, first step: the final report per mailbox across all
     * batches (from the records, all still open) and the MEUs never migrated,
     * written to disk with the e-mail that carries them. Nothing is deleted
     * here, so running it again is harmless.
     */
    async writeFinalReport(input: FinishInput): Promise<FinalReport> {
      if (!ORG_NAME_PATTERN.test(input.org)) throw new Error(`Refusing report path for organisation name ${JSON.stringify(input.org)}`);
      const ctx = Context.current();
      return translated(async () => {
        ctx.heartbeat();
        const rows = await consolidatedRows(ledger, input.org);
        ctx.heartbeat();
        const migrated = new Set(
          rows.filter((r) => r.State === 'completed' || r.State === 'rolledBack').map((r) => r.EmailAddress.toLowerCase()),
        );
        const known = new Map(rows.map((r) => [r.EmailAddress.toLowerCase(), r]));

        const cloud = connectors.cloudDirectory(input.settings);
        let notMigrated: FinalReport['notMigrated'];
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

        const dir = join(reports.dir, input.org, 'final');
        const files = [
          { name: 'FinalReport.csv', content: toCsv(rows, CONSOLIDATED_COLUMNS) },
          {
            name: 'NotMigrated.csv',
            content: toCsv(
              notMigrated.map((n) => ({ EmailAddress: n.address, Reason: n.reason })),
              ['EmailAddress', 'Reason'],
            ),
          },
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
        return {
          notMigrated,
          mailboxes: rows.length,
          reports: paths,
          mail: {
            org: input.org,
            messageId: reportMessageId(input.org, 'final', 'migrationCompleted'),
            to: [input.settings.adminEmail],
            subject: `[mailferry] ${title} (${count('completed')} migrated, ${notMigrated.length} never migrated)`,
            text: `${title}\n\n${lines.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\nReports attached: ${files.map((f) => f.name).join(', ')}\n`,
            html: `<h2>${esc(title)}</h2><table>${lines.map(([k, v]) => `<tr><th align="left">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`,
            attachments: paths,
          },
        };
      });
    },

    /**
     * Complete Migration, last step (after the final e-mail went out): the
     * batch workflows are deleted and every mailbox record ends. Each part
     * skips what is already done, so a crash half-way is safe to run again.
     */
    async cleanUpMigration(input: { org: string; batches: number[] }): Promise<{ batchRecordsDeleted: number; recordsClosed: number }> {
      const ctx = Context.current();
      return translated(async () => {
        let batchRecordsDeleted = 0;
        for (const batch of input.batches) {
          ctx.heartbeat();
          batchRecordsDeleted += await ledger.deleteBatchRecords(input.org, batch);
        }
        const recordsClosed = await ledger.closeRecords(input.org, () => ctx.heartbeat());
        logger.info({ org: input.org, batchRecordsDeleted, recordsClosed }, 'migration cleaned up');
        return { batchRecordsDeleted, recordsClosed };
      });
    },
  };
}
