/**
 * A batch's rows: from a CSV (validated, DESIGN 3–4) or from the ledger (a
 * resume without CSV), each with its plan from the ledger (DESIGN 9): a new
 * row runs every step, a failed row resumes at the step that failed, a
 * migrated row only has its TargetAddress reset.
 */
import { ApplicationFailure } from '@temporalio/common';
import { CsvStructureError, validateCsv } from '../shared/csv';
import { errorCodes } from '../shared/errors';
import type { LedgerEntry } from '../connectors/ledger/types';
import type { BatchRow, BatchSource, ConnectionSettings, RowPlan, Sealed, Step, ValidationIssue } from '../shared/domain';
import type { ActivityDeps } from './deps';
import { translated } from './failures';
import { mapLimit } from '../shared/mapLimit';

interface Candidate {
  line: number;
  address: string;
  password?: Sealed;
  forceChangePassword?: boolean;
}

/** the steps that use the row's password (verifyMeu checks it, convertToMailbox sets it) */
const PASSWORD_STEPS: readonly Step[] = ['verifyMeu', 'convertToMailbox'];

function planFrom(entry: LedgerEntry | null): RowPlan {
  const outcome = entry?.outcome;
  if (!outcome) return { kind: 'new' };
  // a rolled-back mailbox keeps its cloud data: re-running it only points forwarding at the cloud again
  if (outcome.state === 'completed' || outcome.state === 'rolledBack') return { kind: 'resetTargetAddress' };
  if (outcome.state === 'ready') return { kind: 'resume', from: 'copyData' };
  return { kind: 'resume', from: outcome.failedStep ?? 'verifyMeu' };
}

export function createRowActivities({ connectors, secrets }: ActivityDeps) {
  async function fromCsv(settings: ConnectionSettings, csv: Sealed): Promise<{ candidates: Candidate[]; rejected: ValidationIssue[] }> {
    const cloud = connectors.cloudDirectory(settings);
    const source = connectors.sourceDirectory(settings);
    try {
      const tenant = await cloud.tenant();
      const parsed = validateCsv(secrets.unseal(csv), {
        acceptedDomains: tenant.acceptedDomains,
        federatedDomains: tenant.federatedDomains,
        unverifiedDomains: tenant.unverifiedDomains,
      });
      const rejected: ValidationIssue[] = parsed.rejected.map((r) => ({
        line: r.line,
        address: r.address,
        code: r.code,
        message: r.message,
        fix: r.fix,
      }));
      const checked = await mapLimit(parsed.rows, 8, async (row) => ({ row, mailbox: await source.findMailbox(row.address) }));
      const candidates: Candidate[] = [];
      for (const { row, mailbox } of checked) {
        const reject = (code: 'SOURCE_MAILBOX_NOT_FOUND' | 'UM_ENABLED', message: string) =>
          rejected.push({ line: row.line, address: row.address, code, message, fix: errorCodes[code] });
        if (!mailbox) reject('SOURCE_MAILBOX_NOT_FOUND', `No on-premises mailbox has the address ${row.address}.`);
        else if (mailbox.umEnabled) reject('UM_ENABLED', `The on-premises mailbox ${row.address} is enabled for unified messaging.`);
        else
          candidates.push({
            line: row.line,
            address: row.address,
            forceChangePassword: row.forceChangePassword,
            password: row.password === undefined ? undefined : secrets.seal(row.password),
          });
      }
      rejected.sort((a, b) => a.line - b.line);
      return { candidates, rejected };
    } catch (err) {
      if (err instanceof CsvStructureError) {
        throw ApplicationFailure.create({ type: `CSV_${err.code}`, message: err.message, nonRetryable: true });
      }
      throw err;
    } finally {
      await Promise.allSettled([cloud.close(), source.close()]);
    }
  }

  async function fromLedger(org: string, source: Extract<BatchSource, { kind: 'resume' | 'sync' }>): Promise<Candidate[]> {
    const addresses =
      source.kind === 'sync'
        ? (await connectors.ledger.addressesOfBatch(org, source.batch, ['completed'], { laterRuns: true })).sort()
        : (source.mailboxes ??
          (source.failedOfBatch ? await connectors.ledger.addressesOfBatch(org, source.failedOfBatch, ['failed', 'stopped']) : []));
    return addresses.map((address, i) => ({ line: i + 1, address: address.toLowerCase() }));
  }

  /**
   * The password a row's record keeps, for the rows that still need one: no
   * password in the CSV, and a resume at a step that sets it. lookupMany's
   * summaries carry no password, so only those records are read in full.
   */
  async function keptPasswords(org: string, candidates: Candidate[], entries: Map<string, LedgerEntry | null>): Promise<Map<string, Sealed>> {
    const wanted = candidates.filter((c) => {
      const entry = entries.get(c.address.toLowerCase());
      if (c.password !== undefined || !entry?.outcome || entry.running) return false;
      const plan = planFrom(entry);
      return plan.kind === 'resume' && PASSWORD_STEPS.includes(plan.from);
    });
    const found = await mapLimit(wanted, 8, async (c) => [c.address.toLowerCase(), (await connectors.ledger.recordOf(org, c.address))?.outcome?.password] as const);
    return new Map(found.flatMap(([address, password]) => (password === undefined ? [] : [[address, password] as const])));
  }

  return {
    async prepareRows(input: { org: string; batch: number; settings: ConnectionSettings; source: BatchSource }) {
      return translated(async () => {
        const { candidates, rejected } =
          input.source.kind === 'csv'
            ? await fromCsv(input.settings, input.source.csv)
            : { candidates: await fromLedger(input.org, input.source), rejected: [] };
        const entries = await connectors.ledger.lookupMany(
          input.org,
          candidates.map((c) => c.address),
        );
        const passwords = await keptPasswords(input.org, candidates, entries);
        const rows: BatchRow[] = [];
        candidates.forEach((c) => {
          const entry = entries.get(c.address.toLowerCase()) ?? null;
          if (entry?.running) {
            rejected.push({
              line: c.line,
              address: c.address,
              code: 'ALREADY_RUNNING',
              message: `A run of ${c.address} is still open (${entry.workflowId}).`,
              fix: 'Wait for it to finish or stop its batch, then re-run the row.',
            });
            return;
          }
          if (input.source.kind !== 'csv' && !entry?.outcome) {
            rejected.push({
              line: c.line,
              address: c.address,
              code: 'NOT_IN_LEDGER',
              message: `${c.address} has never been migrated.`,
              fix: 'Start a batch from a CSV that lists it.',
            });
            return;
          }
          const outcome = entry?.outcome;
          rows.push({
            line: c.line,
            address: c.address,
            // a sync pass copies from the last checkpoint: only what arrived since
            plan: input.source.kind === 'sync' ? { kind: 'resume', from: 'copyData' } : planFrom(entry),
            state: 'queued',
            step: null,
            forceChangePassword: c.forceChangePassword ?? outcome?.forceChangePassword ?? false,
            password: c.password ?? passwords.get(c.address.toLowerCase()),
            previousTargetAddress: outcome?.previousTargetAddress,
            copy: outcome?.copy,
          });
        });
        return { rows, rejected };
      });
    },
  };
}
