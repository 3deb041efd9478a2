/**
 * Copy throughput: the same 5 seeded mailboxes copied by each tool, the
 * target emptied before every run, tools alternating round by round
 * (A B C … A B C …) so drift on the machine hits all of them alike. Every run
 * is verified; a run that fails verification is reported as failed. Beside
 * the tools runs the ceiling (ceilingChild.ts): the same messages appended
 * from memory, which says how much of the target's pace the copy reaches.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CopyResult } from '../connectors/mail/types';
import type { LabInfo } from '../lab/info';
import { cpuMeter, type CpuSplit } from './cpu';
import type { BenchMailbox } from './lab';
import { wipeTarget } from './lab';
import { activitySpans, benchOrganisation, benchSession, csvFor, startWorker, timedBatch } from './mailferry';
import { prepareMbsync, runMbsync } from './peers/mbsync';
import { prepareOfflineimap, runOfflineimap } from './peers/offlineimap';
import { runTimed } from './proc';
import { CEILING } from './stats';
import { verdictText, verifyAll, type Verdict } from './verify';

export interface ToolRun {
  tool: string;
  round: number;
  ms: number;
  messages: number;
  bytes: number;
  verdict?: Verdict;
  verdictText: string;
  cpu?: CpuSplit;
  peakRss?: number;
  /** end-to-end runs: wall time per activity type (first start to last end) */
  phases?: Record<string, number>;
  error?: string;
}

interface Tool {
  name: string;
  rounds: number;
  /** header lines the tool adds that the verifier must strip */
  ignoreHeaders?: string[];
  /** a peer that copies IMAP system flags only (isync 1.4, offlineimap 8): verified on all but keywords */
  copiesNoKeywords?: boolean;
  run(): Promise<{ ms: number; cpu?: CpuSplit; peakRss?: number; phases?: Record<string, number> }>;
}

const CHILD = join(__dirname, 'copyChild.ts');
const CEILING_CHILD = join(__dirname, 'ceilingChild.ts');
export const E2E_MAIL = '  of which copyMail (mail only)';

/** The copy step alone in a child process; the time is the copier's own (no process start-up). */
export async function copyInChild(dir: string, jobs: BenchMailbox[], nodeArgs: string[] = [], checkpointFile?: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, 'copy.json');
  writeFileSync(config, JSON.stringify({ jobs: jobs.map((j) => ({ source: j.source, target: j.target })), checkpointFile }), {
    mode: 0o600,
  });
  const r = await runTimed(process.execPath, [...nodeArgs, '--import', 'tsx', CHILD, config]);
  const line = r.output.split('\n').find((l) => l.startsWith('result '));
  if (r.code !== 0 || !line) throw new Error(`copy child failed (${r.code ?? r.signal}): ${r.output.slice(-2000)}`);
  const results = JSON.parse(line.slice('result '.length)) as CopyResult[];
  return { results, ms: Math.max(...results.map((x) => x.durationMs)), peakRss: r.peakRss };
}

/**
 * The target's ceiling in a child process: the time is its APPEND phase alone, after it has read every
 * message into memory. No CPU split: the meter would count that reading too.
 */
async function ceilingInChild(dir: string, jobs: BenchMailbox[]) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, 'ceiling.json');
  writeFileSync(config, JSON.stringify({ jobs: jobs.map((j) => ({ source: j.source, target: j.target })) }), { mode: 0o600 });
  const r = await runTimed(process.execPath, ['--import', 'tsx', CEILING_CHILD, config]);
  const line = r.output.split('\n').find((l) => l.startsWith('result '));
  if (r.code !== 0 || !line) throw new Error(`ceiling child failed (${r.code ?? r.signal}): ${r.output.slice(-2000)}`);
  const result = JSON.parse(line.slice('result '.length)) as { ms: number; messages: number };
  const expected = jobs.reduce((n, j) => n + j.messages, 0);
  if (result.messages !== expected) throw new Error(`ceiling child appended ${result.messages} messages of ${expected}`);
  return { ms: result.ms, peakRss: r.peakRss };
}

export interface CopyBenchOptions {
  rounds: number;
  /** rounds of offlineimap, each way: one 5-parallel run takes ~160 s here and one sequential ~250 s */
  offlineimapRounds: number;
  workDir: string;
  /** node --cpu-prof on the copy step's first run, into workDir/profile */
  profile: boolean;
  /** only tools whose name starts with one of these (default all) */
  only?: string[];
  log: (line: string) => void;
}

export async function copyBench(
  info: LabInfo,
  boxes: BenchMailbox[],
  o: CopyBenchOptions,
): Promise<{ runs: ToolRun[]; workerPeakRss: number; workerStartupPeakRss: number; workerIdleRss: number }> {
  const addresses = boxes.map((b) => b.address);
  const worker = await startWorker(info);
  const session = await benchSession(info);
  let profiled = false;
  const mbsync = () => prepareMbsync(join(o.workDir, 'mbsync'), boxes);
  const offlineimap = () => prepareOfflineimap(join(o.workDir, 'offlineimap'), boxes);
  const timed = async <T>(fn: () => Promise<T>, meter: () => CpuSplit) => {
    const started = process.hrtime.bigint();
    const value = await fn();
    return { value, ms: Number(process.hrtime.bigint() - started) / 1e6, cpu: meter() };
  };

  const tools: Tool[] = [
    {
      name: 'mailferry batch, 5 at once (end-to-end)',
      rounds: o.rounds,
      run: async () => {
        const org = await benchOrganisation(session, 'bench-copy', boxes.length);
        const meter = cpuMeter(worker.pid);
        const t = await timedBatch(session, org, csvFor(addresses, 'Bench!Cloud-Pass1'));
        if (t.result.completed !== boxes.length)
          throw new Error(`batch ${org}/${t.batch}: ${t.result.completed} of ${boxes.length} rows completed (${t.result.phase})`);
        return { ms: t.completeMs, cpu: meter(), peakRss: worker.peakRss(), phases: await activitySpans(session, org) };
      },
    },
    {
      name: 'mailferry copy step, 5 at once',
      rounds: o.rounds,
      run: async () => {
        const args = o.profile && !profiled ? ['--cpu-prof', '--cpu-prof-dir', join(o.workDir, 'profile')] : [];
        profiled = true;
        const meter = cpuMeter();
        const r = await copyInChild(join(o.workDir, 'copy'), boxes, args);
        return { ms: r.ms, cpu: meter(), peakRss: r.peakRss };
      },
    },
    {
      name: 'mbsync, 5 at once',
      rounds: o.rounds,
      ignoreHeaders: ['X-TUID:'],
      copiesNoKeywords: true,
      run: async () => {
        const config = mbsync();
        const t = await timed(() => runMbsync(config, boxes.length, true), cpuMeter());
        return { ms: t.ms, cpu: t.cpu, peakRss: Math.max(...t.value.map((r) => r.peakRss)) };
      },
    },
    {
      name: CEILING,
      rounds: o.rounds,
      run: async () => ceilingInChild(join(o.workDir, 'ceiling'), boxes),
    },
    {
      name: 'mbsync, one after another',
      rounds: o.rounds,
      ignoreHeaders: ['X-TUID:'],
      copiesNoKeywords: true,
      run: async () => {
        const config = mbsync();
        const t = await timed(() => runMbsync(config, boxes.length, false), cpuMeter());
        return { ms: t.ms, cpu: t.cpu, peakRss: Math.max(...t.value.map((r) => r.peakRss)) };
      },
    },
    {
      name: 'offlineimap, 5 at once',
      rounds: o.offlineimapRounds,
      copiesNoKeywords: true,
      run: async () => {
        const configs = offlineimap();
        const t = await timed(() => runOfflineimap(configs, true), cpuMeter());
        return { ms: t.ms, cpu: t.cpu, peakRss: Math.max(...t.value.map((r) => r.peakRss)) };
      },
    },
    {
      name: 'offlineimap, one after another',
      rounds: o.offlineimapRounds,
      copiesNoKeywords: true,
      run: async () => {
        const configs = offlineimap();
        const t = await timed(() => runOfflineimap(configs, false), cpuMeter());
        return { ms: t.ms, cpu: t.cpu, peakRss: Math.max(...t.value.map((r) => r.peakRss)) };
      },
    },
  ];

  const chosen = tools.filter((t) => !o.only || o.only.some((prefix) => t.name.startsWith(prefix)));
  const messages = boxes.reduce((n, b) => n + b.messages, 0);
  const bytes = boxes.reduce((n, b) => n + b.bytes, 0);
  const runs: ToolRun[] = [];
  try {
    const maxRounds = Math.max(...chosen.map((t) => t.rounds));
    for (let round = 1; round <= maxRounds; round++) {
      for (const tool of chosen.filter((t) => round <= t.rounds)) {
        await wipeTarget(addresses);
        const run: ToolRun = { tool: tool.name, round, ms: 0, messages, bytes, verdictText: '' };
        try {
          Object.assign(run, await tool.run());
          run.verdict = await verifyAll(boxes, tool.ignoreHeaders, tool.copiesNoKeywords);
          run.verdictText = verdictText(run.verdict);
        } catch (err) {
          run.error = err instanceof Error ? err.message : String(err);
          run.verdictText = `FAILED: ${run.error.split('\n')[0].slice(0, 200)}`;
        }
        runs.push(run);
        if (run.phases?.copyMail) {
          // the same run's mail part alone: what compares with the peers, which copy no contacts or calendars
          runs.push({ ...run, tool: `${E2E_MAIL}`, ms: run.phases.copyMail, cpu: undefined, peakRss: undefined });
        }
        o.log(
          `  round ${round} ${tool.name.padEnd(40)} ${(run.ms / 1000).toFixed(1).padStart(6)} s  ${((messages * 1000) / run.ms).toFixed(0).padStart(5)} msg/s  ${run.verdictText}`,
        );
      }
    }
  } finally {
    await session.close();
  }
  return { runs, workerPeakRss: await worker.stop(), workerStartupPeakRss: worker.startupPeakRss, workerIdleRss: worker.idleRss };
}
