/**
 * `batch status --watch`: a live display (cli-progress) of one batch: a bar
 * for the batch's rows with its totals and ETA, and a bar per active row with
 * its step and, while it copies, folders, messages and bytes copied so far.
 * Ends with the batch's summary when it finishes.
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { FINISHED_PHASES, type BatchStatus } from '../shared/domain';
import { batchStatus, formatStatus } from './batch';
import type { Session } from './connection';
import { copyProgress } from './progress';

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function batchLine(s: BatchStatus): string {
  const eta = s.eta ? `, ETA ${s.eta.finishesAt.slice(11, 19)}Z` : '';
  return `${s.phase}: ${s.completed} completed, ${s.active} active, ${s.failed} failed, ${s.waiting} waiting, cap ${s.maxConcurrent}${eta}`;
}

export async function watchBatch(
  session: Session,
  org: string,
  batch: number | undefined,
  options: { intervalMs?: number; stream?: NodeJS.WriteStream } = {},
): Promise<BatchStatus> {
  const stream = options.stream ?? process.stdout;
  const bars = new MultiBar(
    {
      format: '{label} [{bar}] {value}/{total} {detail}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      // piped output (a log, a test) still gets a line every refresh
      noTTYOutput: !stream.isTTY,
      notTTYSchedule: options.intervalMs ?? 2000,
      stream,
    },
    Presets.shades_classic,
  );
  let status = await batchStatus(session, org, batch);
  const total = bars.create(Math.max(1, status.total), 0, { label: `batch ${status.batch}`.padEnd(36), detail: '' });
  const rows = new Map<string, SingleBar>();
  try {
    for (;;) {
      const done = status.completed + status.failed + status.rows.filter((r) => r.state === 'stopped').length;
      total.setTotal(Math.max(1, status.total));
      total.update(done, { detail: batchLine(status) });
      const active = status.rows.filter((r) => r.state === 'provisioning' || r.state === 'copying');
      for (const [address, bar] of rows) {
        if (!active.some((r) => r.address === address)) {
          bars.remove(bar);
          rows.delete(address);
        }
      }
      for (const row of active) {
        const bar = rows.get(row.address) ?? bars.create(1, 0, { label: `  ${row.address}`.slice(0, 36).padEnd(36), detail: '' });
        rows.set(row.address, bar);
        const p = row.state === 'copying' ? await copyProgress(session, org, row.address) : null;
        if (p) {
          bar.setTotal(Math.max(1, p.foldersTotal));
          bar.update(p.foldersDone, {
            detail: `${row.step} ${p.folder}: ${p.messagesCopied} messages, ${mb(p.bytesCopied)} copied, ${p.messagesExisting} already there`,
          });
        } else {
          bar.update(0, { detail: `${row.step ?? '-'}` });
        }
      }
      if (FINISHED_PHASES.includes(status.phase)) break;
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 2000));
      status = await batchStatus(session, org, status.batch);
    }
  } finally {
    bars.stop();
  }
  stream.write(`${formatStatus(status)}\n`);
  return status;
}
