/**
 * `npm run bench` (through bench/run.sh, which starts the bench's own lab and
 * Temporal server): seeds, runs the sections, prints one table and writes
 * bench/results/<date>.json. Targets are reported, never asserted.
 *
 *   --quick            small sizes, one round: for developing the bench itself
 *   --sections a,b     any of copy,orchestration,growth,resume,records (default all)
 *   --records N        records section: mailbox records created in bulk (default 50000; quick 2000)
 *   --rounds N         copy rounds per tool (default 3)
 *   --offlineimap-rounds N   offlineimap runs each way (default 1: its 5-parallel run takes ~160 s
 *                      and its sequential one ~250 s here, so 3 rounds alone would exceed 20 minutes)
 *   --tools a,b        copy section: only tools whose name starts with these (e.g. mailferry,mbsync,ceiling)
 *   --rows N           orchestration batch rows (default 1000; quick 50)
 *   --cluster          the orchestration section runs a second time, on Temporal on PostgreSQL
 *                      (scripts/cluster-up.sh, started by bench/run.sh), and both results are printed
 *   --growth a,b,c     growth sizes (default 1000,10000,50000)
 *   --render FILE      print the table of an earlier results file (targets re-evaluated) and exit
 *   --profile          node --cpu-prof on the first copy-step run (.state/bench/work/profile/) and on the
 *                      orchestration worker (.state/bench/work/profile-orchestration/, summarised in the results)
 */
import { Command } from 'commander';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { readLabInfo } from '../lab/info';
import { seedLab } from '../lab/seed/seed';
import { copyBench } from './copy';
import { growthBench, growthRatios } from './growth';
import { provisionCloud, seededMailboxes } from './lab';
import { killWorkers } from './mailferry';
import { orchestrationBench } from './orchestration';
import { ceilingShare, machine, ratio, renderTable, type BenchReport } from './report';
import { recordsBench } from './records';
import { resumeBench } from './resume';
import { summarise } from './stats';

const SECTIONS = ['copy', 'orchestration', 'growth', 'resume', 'records'] as const;
const MB = 2 ** 20;

interface Options {
  quick: boolean;
  sections: string;
  rounds?: number;
  offlineimapRounds: number;
  profile: boolean;
  tools?: string;
  rows?: number;
  cluster: boolean;
  growth?: string;
  records?: number;
  setupSeconds: number;
  render?: string;
}

function targets(r: BenchReport): BenchReport['targets'] {
  const out: BenchReport['targets'] = [];
  const tool = (prefix: string) => r.copy?.tools.find((t) => t.tool.startsWith(prefix));
  const [e2e, step, mbsync, offline] = [tool('mailferry batch'), tool('mailferry copy'), tool('mbsync, 5'), tool('offlineimap, 5')];
  const x = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}×`);
  if (r.copy) {
    const verifiedNote = (t: typeof mbsync) => (t && t.verified === 0 ? ` (${t.tool} never verified)` : '');
    // issue 15: no regression of the copy, at least 1.3 times mbsync
    out.push({
      target: 'mailferry ≥ 1.3× mbsync (5 at once, msg/s): copy step',
      value: x(ratio(step, mbsync)) + verifiedNote(mbsync),
      met: ratio(step, mbsync) === null ? null : ratio(step, mbsync)! >= 1.3,
    });
    out.push({
      target: 'mailferry ≥ 1.3× mbsync (5 at once, msg/s): whole batch',
      value: x(ratio(e2e, mbsync)),
      met: ratio(e2e, mbsync) === null ? null : ratio(e2e, mbsync)! >= 1.3,
    });
    const share = ceilingShare(r);
    out.push({
      target: 'mailferry copy step ≥ 80 % of the MULTIAPPEND ceiling',
      value: share === null ? '-' : `${(share * 100).toFixed(0)} %`,
      met: share === null ? null : share >= 0.8,
    });
    out.push({
      target: 'mailferry ≥ 5× offlineimap (5 at once): copy step',
      value: x(ratio(step, offline)) + verifiedNote(offline),
      met: ratio(step, offline) === null ? null : ratio(step, offline)! >= 5,
    });
    out.push({
      target: 'mailferry ≥ 5× offlineimap (5 at once): whole batch',
      value: x(ratio(e2e, offline)),
      met: ratio(e2e, offline) === null ? null : ratio(e2e, offline)! >= 5,
    });
    out.push({
      target: 'worker peak RSS ≤ 300 MB (5 mailboxes, 10–25 MB messages)',
      value: `${(r.copy.workerPeakRss / MB).toFixed(0)} MB`,
      met: r.copy.workerPeakRss <= 300 * MB,
    });
    out.push({
      target: 'worker idle RSS ≤ 150 MB (after start)',
      value: `${(r.copy.workerIdleRss / MB).toFixed(0)} MB`,
      met: r.copy.workerIdleRss <= 150 * MB,
    });
  }
  if (r.orchestration) {
    const o = r.orchestration;
    out.push({
      target: `${o.rows} rows to Mailboxes Ready ≤ 30 s`,
      value: o.readyMs === null ? '-' : `${(o.readyMs / 1000).toFixed(1)} s`,
      met: o.readyMs === null ? null : o.readyMs <= 30_000,
    });
    out.push({
      target: `${o.rows} rows to Migration Complete ≤ 60 s`,
      value: `${(o.completeMs / 1000).toFixed(1)} s, ${o.failed} failed`,
      met: o.completeMs <= 60_000 && o.failed === 0,
    });
    out.push({
      target: 'history events per row ≤ 20 (orchestration)',
      value: o.historyEvents.perRow.toFixed(1),
      met: o.historyEvents.perRow <= 20,
    });
    out.push({
      target: 'worker peak RSS ≤ 300 MB (orchestration)',
      value: `${(o.workerPeakRss / MB).toFixed(0)} MB`,
      met: o.workerPeakRss <= 300 * MB,
    });
  }
  if (r.growth && r.growth.length > 1) {
    const ratios = growthRatios(r.growth);
    // linear cost means no slow-down; a faster big mailbox only shows the small one's fixed set-up (logins, folder list)
    out.push({
      target: 'growth: no size below 80 % of the first (msg/s)',
      value: ratios.map((g) => `${g.messages}: ${(g.ratio * 100).toFixed(0)} %`).join(', '),
      met: ratios.every((g) => g.ratio >= 0.8),
    });
    const peak = Math.max(...r.growth.map((g) => g.peakRss));
    out.push({ target: 'copier peak RSS ≤ 300 MB (growth)', value: `${(peak / MB).toFixed(0)} MB`, met: peak <= 300 * MB });
  }
  if (r.resume) {
    out.push({
      target: 're-transfer after SIGKILL ≤ one checkpoint window',
      value: `${r.resume.reTransferred} messages (window ${r.resume.checkpointWindow.messages})`,
      met: r.resume.reTransferred <= r.resume.checkpointWindow.messages && r.resume.verdict === 'verified',
    });
  }
  return out;
}

async function main(o: Options): Promise<void> {
  if (o.render) {
    const saved = JSON.parse(readFileSync(o.render, 'utf8')) as BenchReport;
    console.log(renderTable({ ...saved, targets: targets(saved) }));
    return;
  }
  const started = Date.now();
  const loadAtStart = loadavg()[0];
  const sections = new Set(o.sections.split(',').map((s) => s.trim()));
  for (const s of sections)
    if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`unknown section "${s}" (one of ${SECTIONS.join(', ')})`);
  const date = new Date()
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');
  const resultsDir = join(__dirname, 'results');
  const workDir = join(process.env.MAILFERRY_STATE_DIR ?? join(__dirname, '..', '.state', 'bench'), 'work');
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const log = (line: string) => console.error(line);

  const profile = o.quick ? 'small' : 'bench';
  log(`seeding (profile ${profile})`);
  const seedStarted = Date.now();
  const info = await seedLab(readLabInfo(), 42, profile, () => undefined);
  const boxes = seededMailboxes(info);
  await provisionCloud(
    info,
    boxes.map((b) => b.address),
  );
  const report: BenchReport = {
    date,
    machine: machine(),
    mode: o.quick ? 'quick' : 'full',
    wallSeconds: 0,
    load: { start: loadAtStart, end: 0 },
    setupSeconds: o.setupSeconds,
    seed: {
      profile,
      mailboxes: boxes.length,
      messages: boxes.reduce((n, b) => n + b.messages, 0),
      bytes: boxes.reduce((n, b) => n + b.bytes, 0),
      seconds: (Date.now() - seedStarted) / 1000,
    },
    targets: [],
  };

  if (sections.has('copy')) {
    log('1. copy throughput');
    const rounds = o.rounds ?? (o.quick ? 1 : 3);
    const c = await copyBench(info, boxes, {
      rounds,
      offlineimapRounds: Math.min(rounds, o.offlineimapRounds),
      workDir,
      profile: o.profile,
      only: o.tools?.split(',').map((t) => t.trim()),
      log,
    });
    report.copy = {
      tools: summarise(c.runs),
      workerPeakRss: c.workerPeakRss,
      workerStartupPeakRss: c.workerStartupPeakRss,
      workerIdleRss: c.workerIdleRss,
      runs: c.runs,
    };
  }
  if (sections.has('orchestration')) {
    log('2. orchestration');
    const profileDir = o.profile ? join(workDir, 'profile-orchestration') : undefined;
    report.orchestration = await orchestrationBench(info, o.rows ?? (o.quick ? 50 : 1000), 10, log, undefined, profileDir);
    if (o.cluster) {
      const address = process.env.MAILFERRY_BENCH_CLUSTER_ADDRESS;
      const state = process.env.MAILFERRY_CLUSTER_STATE_DIR;
      if (!address || !state)
        throw new Error(
          '--cluster needs the cluster that bench/run.sh starts (MAILFERRY_BENCH_CLUSTER_ADDRESS): run `npm run bench -- --cluster`',
        );
      log('2b. orchestration on Temporal on PostgreSQL');
      const target = {
        address,
        cpu: { temporalPidFile: join(state, 'temporal.pid'), postgresData: join(state, 'postgres', 'data') },
        prefix: 'orchc',
      };
      report.orchestrationCluster = await orchestrationBench(info, o.rows ?? (o.quick ? 50 : 1000), 10, log, target);
    }
  }
  if (sections.has('growth')) {
    log('3. growth');
    report.growth = await growthBench(
      info,
      o.growth ? o.growth.split(',').map(Number) : o.quick ? [200, 1000] : [1000, 10_000, 50_000],
      workDir,
      log,
    );
  }
  if (sections.has('records')) {
    log('6. records');
    report.records = await recordsBench(info, o.records ?? (o.quick ? 2000 : 50_000), log);
  }
  if (sections.has('resume')) {
    log('5. resume');
    const seed = Number(process.env.BENCH_SEED ?? Math.floor(Math.random() * 1e9));
    log(`   kill moment seeded: BENCH_SEED=${seed} replays it`);
    report.resume = await resumeBench(boxes[0], seed, workDir);
  }

  report.targets = targets(report);
  report.load.end = loadavg()[0];
  report.wallSeconds = (Date.now() - started) / 1000 + o.setupSeconds;
  console.log(renderTable(report));
  mkdirSync(resultsDir, { recursive: true });
  // only a full run of every section is a "latest results" file for the README (bench/readme.ts)
  const file = join(resultsDir, `${date}${o.quick ? '-quick' : sections.size < SECTIONS.length ? '-partial' : ''}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(report, null, 2));
  renameSync(`${file}.tmp`, file);
  log(`wrote ${file}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killWorkers();
    process.exit(130);
  });
}

const program = new Command('bench')
  .option('--quick', 'small sizes, one round', false)
  .option('--sections <list>', 'comma-separated sections', SECTIONS.join(','))
  .option('--rounds <n>', 'copy rounds per tool', (v) => Number(v))
  .option('--offlineimap-rounds <n>', 'offlineimap runs each way', (v) => Number(v), 1)
  .option('--tools <list>', 'copy section: only these tools (name prefixes)')
  .option('--rows <n>', 'orchestration batch rows', (v) => Number(v))
  .option('--cluster', 'orchestration on Temporal on PostgreSQL too', false)
  .option('--growth <sizes>', 'growth mailbox sizes, comma-separated')
  .option('--records <n>', 'records section: mailbox records created in bulk', (v: string) => Number(v))
  .option('--render <file>', 'print the table of a results file')
  .option('--profile', 'CPU-profile the first copy-step run and the orchestration worker', false)
  .option('--setup-seconds <n>', 'time run.sh spent starting servers (added to the wall time)', (v) => Number(v), 0)
  .action(async (options: Options) => main(options));

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  killWorkers();
  process.exit(1);
});
