/** The printed table and the JSON written to bench/results/<date>.json. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { growthRatios, type GrowthPoint } from './growth';
import { renderProfile } from './cpuProfile';
import { renderLatency } from './latency';
import type { OrchestrationResult } from './orchestration';
import type { RecordsResult } from './records';
import type { ResumeResult } from './resume';
import { CEILING, type ToolSummary } from './stats';

export interface BenchReport {
  date: string;
  machine: ReturnType<typeof machine>;
  mode: 'full' | 'quick';
  wallSeconds: number;
  /** 1-minute load average at the start and the end: other work on the machine skews every number */
  load: { start: number; end: number };
  setupSeconds: number;
  seed: { profile: string; mailboxes: number; messages: number; bytes: number; seconds: number };
  copy?: { tools: ToolSummary[]; workerPeakRss: number; workerStartupPeakRss: number; workerIdleRss: number; runs: unknown[] };
  orchestration?: OrchestrationResult;
  /** the same section on Temporal on PostgreSQL (`--cluster`) */
  orchestrationCluster?: OrchestrationResult;
  growth?: GrowthPoint[];
  resume?: ResumeResult;
  records?: RecordsResult;
  targets: Array<{ target: string; value: string; met: boolean | null }>;
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]
      .trim();
  } catch {
    return 'unknown';
  }
}

export function machine() {
  const os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os,
    node: process.version,
    dovecot: version('dovecot', ['--version']),
    mbsync: version('mbsync', ['--version']),
    offlineimap: version('offlineimap', ['--version']),
  };
}

const MB = 2 ** 20;
const fmt = (n: number | null | undefined, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));
const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

export function ratio(a: ToolSummary | undefined, b: ToolSummary | undefined): number | null {
  return a?.messagesPerSecond && b?.messagesPerSecond ? a.messagesPerSecond / b.messagesPerSecond : null;
}

/** The copy step's msg/s as a share of the ceiling's (appending the same messages from memory). */
export function ceilingShare(r: BenchReport): number | null {
  const tool = (prefix: string) => r.copy?.tools.find((t) => t.tool.startsWith(prefix));
  return ratio(tool('mailferry copy step'), tool(CEILING));
}

export function renderTable(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`mailferry bench ${r.date} (${r.mode}) on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB RAM, ${m.os}, Node ${m.node}`);
  out.push(`  peers: ${m.mbsync}, offlineimap ${m.offlineimap}; servers: Dovecot ${m.dovecot} (both sides, loopback)`);
  out.push(
    `  data: ${r.seed.mailboxes} mailboxes, ${r.seed.messages} messages, ${fmt(r.seed.bytes / MB)} MB (seed profile ${r.seed.profile}, seeded in ${fmt(r.seed.seconds, 1)} s)`,
  );
  if (r.copy) {
    const base = r.copy.tools.find((t) => t.tool.startsWith('mbsync, 5'));
    out.push('');
    out.push('1. Copy throughput (target emptied before each run; median of verified runs, or of all finished runs when none verified)');
    out.push(
      `   ${pad('tool', 42)}${lpad('runs', 5)}${lpad('ok', 4)}${lpad('median s', 10)}${lpad('msg/s', 7)}${lpad('MB/s', 6)}${lpad('÷mbsync∥', 9)}  ${pad('CPU s client/source/target', 27)}${lpad('RSS MB', 7)}  verification`,
    );
    for (const t of r.copy.tools) {
      const cpu = t.cpuMs
        ? `${fmt(t.cpuMs.client / 1000, 1)} / ${fmt(t.cpuMs.sourceServer / 1000, 1)} / ${fmt(t.cpuMs.targetServer / 1000, 1)}`
        : '-';
      const median = t.medianMs ?? t.medianMsAll;
      out.push(
        `   ${pad(t.tool, 42)}${lpad(String(t.runs), 5)}${lpad(String(t.verified), 4)}${lpad(fmt(median === null ? null : median / 1000, 1) + (t.medianMs === null ? '*' : ''), 10)}` +
          `${lpad(fmt(t.messagesPerSecond), 7)}${lpad(fmt(t.megabytesPerSecond, 1), 6)}${lpad(fmt(ratio(t, base), 2) + '×', 9)}  ${pad(cpu, 27)}${lpad(fmt(t.peakRss === null ? null : t.peakRss / MB), 7)}  ${t.verdict}`,
      );
    }
    out.push('   * no verified run: the time shown is of runs that failed verification');
    const step = r.copy.tools.find((t) => t.tool.startsWith('mailferry copy step'));
    const ceiling = ceilingShare(r);
    if (ceiling !== null)
      out.push(
        `   mailferry copy step: ${fmt(ceiling * 100)} % of the ceiling (${CEILING}: the same messages appended, no source reads), ${fmt(ratio(step, base), 2)}× mbsync`,
      );
    out.push(
      `   worker peak RSS during the end-to-end batches: ${fmt(r.copy.workerPeakRss / MB)} MB (idle after start ${fmt(r.copy.workerIdleRss / MB)} MB; start-up peak, bundling workflows, ${fmt(r.copy.workerStartupPeakRss / MB)} MB)`,
    );
  }
  const orchestration = (o: OrchestrationResult, server: string) => {
    out.push('');
    out.push(`2. Orchestration: ${o.rows}-row batch, 1 small message per mailbox, concurrency ${o.concurrency}, ${server}`);
    out.push(
      `   Mailboxes Ready ${fmt(o.readyMs === null ? null : o.readyMs / 1000, 1)} s, Migration Complete ${fmt(o.completeMs / 1000, 1)} s, ${fmt(o.rowsPerSecond, 1)} rows/s; ${o.completed} completed, ${o.failed} failed`,
    );
    out.push(
      `   history: ${fmt(o.historyEvents.perRow, 1)} events per row (batch ${o.historyEvents.batch} in ${o.executions.batch} run(s), children ${o.historyEvents.children} in ${o.executions.children} runs; largest run ${o.historyEvents.largestRun}); continue-as-new: ${o.continuedAsNew ? 'yes' : 'no'}`,
    );
    if (o.eventsByType)
      out.push(
        `   events per row by workflow: ${Object.entries(o.eventsByType)
          .sort(([, a], [, b]) => b - a)
          .map(([k, v]) => `${k} ${fmt(v, 1)}`)
          .join(', ')}`,
      );
    if (o.activityTasks)
      out.push(
        `   activity tasks: ${fmt(o.activityTasks.perRow, 1)} per row (${Object.entries(o.activityTasks.byType)
          .sort(([, a], [, b]) => b - a)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}), local activities ${fmt(o.activityTasks.localPerRow, 1)} per row`,
      );
    if (o.largestPayload) out.push(`   largest payload: ${fmt(o.largestPayload.bytes / 1024, 1)} KiB (${o.largestPayload.where})`);
    out.push(
      `   CPU s during the batch: ${Object.entries(o.cpuMs)
        .map(([k, v]) => `${k} ${fmt(v / 1000, 1)}`)
        .join(', ')}`,
    );
    if (o.latency) out.push(...renderLatency(o.latency, o.rows));
    if (o.workerProfile) out.push(...renderProfile(o.workerProfile, o.cpuMs.worker ?? 0));
    out.push(
      `   users: createOrgUser ${fmt(o.createOrgUserMsEach / 1000, 2)} s each → bulk helper: ${o.rows} in ${fmt(o.bulkCreateMs / 1000, 1)} s; worker peak RSS ${fmt(o.workerPeakRss / MB)} MB (idle ${fmt(o.workerIdleRss / MB)} MB, start-up peak ${fmt(o.workerStartupPeakRss / MB)} MB)`,
    );
  };
  if (r.orchestration) orchestration(r.orchestration, r.orchestrationCluster ? 'Temporal dev server (SQLite)' : 'Temporal dev server');
  if (r.orchestrationCluster) orchestration(r.orchestrationCluster, 'Temporal server on PostgreSQL (scripts/cluster-up.sh)');
  if (r.growth) {
    out.push('');
    out.push('3. Growth: one mailbox of small messages, copy step alone');
    const ratios = growthRatios(r.growth);
    for (const [i, g] of r.growth.entries()) {
      out.push(
        `   ${lpad(String(g.messages), 6)} messages ${lpad(fmt(g.bytes / MB), 5)} MB: ${lpad(fmt(g.copyMs / 1000, 1), 6)} s, ${lpad(fmt(g.messagesPerSecond), 5)} msg/s (${lpad(fmt(ratios[i]!.ratio * 100), 3)} % of the first), copier peak RSS ${lpad(fmt(g.peakRss / MB), 4)} MB, ${g.verdict}`,
      );
    }
  }
  if (r.resume) {
    const s = r.resume;
    out.push('');
    out.push(
      `5. Resume: copy of ${s.mailbox} (${s.messages} messages) SIGKILLed at a seeded moment (seed ${s.seed ?? '-'}, ${fmt((s.killFraction ?? 0) * 100)} % of the mailbox) after ${s.checkpointsBeforeKill} checkpoints, with ${s.onTargetWhenKilled} on the target${s.onTargetAtRestart !== undefined && s.onTargetAtRestart !== s.onTargetWhenKilled ? `, ${s.onTargetAtRestart} once the server had stored what was already sent` : ''}`,
    );
    out.push(
      `   after the restart the target received ${s.receivedAfterRestart?.messages ?? '-'} messages (${fmt((s.receivedAfterRestart?.bytes ?? 0) / MB, 1)} MB, counted by a relay) for ${s.messages - (s.onTargetAtRestart ?? s.onTargetWhenKilled)} missing: re-transferred ${s.reTransferred} (window ${s.checkpointWindow.messages} messages / ${fmt(s.checkpointWindow.bytes / MB)} MB); ${s.verdict}`,
    );
  }
  if (r.records) {
    const m = r.records;
    out.push('');
    out.push(
      `6. Ledger: ${m.records} mailbox records created in bulk (${fmt(m.createSeconds, 1)} s; the ledger's signal-with-start, memo and search attributes as the record keeps them, first task not run)`,
    );
    out.push(
      `   largest payloads at 1,000 rows × 50 folders: batch continue-as-new input ${fmt(m.payloads.batchCarriedBytes / 1024, 0)} KB, a record with its checkpoint ${fmt(m.payloads.recordBytes / 1024, 1)} KB (limit 2,048 KB)`,
    );
    out.push(
      `   batch status ${fmt(m.batchStatusSeconds, 2)} s; re-run plan of a ${m.rerunPlanRows}-row CSV ${fmt(m.rerunPlanSeconds, 1)} s; reports consolidated (${m.consolidatedRows} rows) ${fmt(m.consolidatedSeconds, 1)} s`,
    );
  }
  out.push('');
  out.push('Targets');
  for (const t of r.targets) out.push(`   ${t.met === null ? '?' : t.met ? '✓' : '✗'} ${pad(t.target, 58)} ${t.value}`);
  out.push('');
  out.push(
    `Bench wall time ${fmt(r.wallSeconds / 60, 1)} min (servers ${fmt(r.setupSeconds)} s + runs); load average ${fmt(r.load.start, 1)} at start, ${fmt(r.load.end, 1)} at end on ${m.cpus} CPUs`,
  );
  return out.join('\n');
}
