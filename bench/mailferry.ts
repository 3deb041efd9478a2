/**
 * mailferry as an admin runs it: a worker process (real, so its RSS can be
 * read) on the bench's Temporal dev server, an organisation set up from the
 * lab, and batches started and awaited through the client API the CLI uses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startBatch } from '../client/batch';
import { openSession, type Session } from '../client/connection';
import { applySettings, buildSettings } from '../client/settings';
import type { LabInfo } from '../lab/info';
import { labWorkerEnv } from '../lab/workerEnv';
import { MailferryState } from '../shared/searchAttributes';
import { batchWorkflowId, type BatchPhase, type BatchResult } from '../workflows/definitions';
import { peakRss, resetPeakRss, watchRss } from './proc';

const ROOT = join(__dirname, '..');

/** `overrides`: e.g. another TEMPORAL_ADDRESS (the orchestration section on the PostgreSQL cluster) */
export function benchEnv(info: LabInfo, overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...labWorkerEnv(info), MAILFERRY_LOG_LEVEL: 'warn', ...overrides };
}

/** Workers still running: stopped if the bench itself is interrupted, so none outlives it. */
const running = new Set<ChildProcess>();
export function killWorkers(): void {
  for (const child of running) child.kill('SIGKILL');
}

export interface BenchWorker {
  pid: number;
  /** VmHWM when it had started: bundling the workflow code is its biggest moment */
  startupPeakRss: number;
  /** VmRSS once started and idle: what the worker holds before any batch */
  idleRss: number;
  /** highest VmHWM since start-up (the kernel's own peak, not a sample) */
  peakRss(): number;
  stop(): Promise<number>;
}

/** bin/mailferry-worker, as deployments start it; it execs Node, so the pid is the worker's. `extraNodeArgs` go to Node. */
export async function startWorker(info: LabInfo, extraNodeArgs: string[] = [], overrides: NodeJS.ProcessEnv = {}): Promise<BenchWorker> {
  const env = { ...benchEnv(info, overrides), MAILFERRY_LOG_LEVEL: 'info' };
  const child: ChildProcess = spawn(join(ROOT, 'bin', 'mailferry-worker'), extraNodeArgs, {
    env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => (running.delete(child), resolve())));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start in 120 s:\n${out.slice(-3000)}`)), 120_000);
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-50_000);
      if (out.includes('worker started')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before starting:\n${out.slice(-3000)}`));
    });
  });
  const pid = child.pid as number;
  const startupPeakRss = peakRss(pid) ?? 0;
  if (!resetPeakRss(pid)) throw new Error('cannot reset the worker peak RSS (/proc/<pid>/clear_refs); Linux ≥ 4.0 needed');
  const idleRss = peakRss(pid) ?? 0; // just reset: VmHWM = VmRSS now
  const rss = watchRss(pid);
  return {
    pid,
    startupPeakRss,
    idleRss,
    peakRss: () => rss.peak(),
    async stop() {
      const peak = rss.stop();
      child.kill('SIGTERM');
      await exited;
      return peak;
    },
  };
}

export async function benchSession(info: LabInfo, overrides: NodeJS.ProcessEnv = {}): Promise<Session> {
  return openSession(benchEnv(info, overrides));
}

/** A fresh organisation per run: its ledger is empty, so every row runs every step. */
export async function benchOrganisation(session: Session, prefix: string, maxConcurrent: number): Promise<string> {
  const org = `${prefix}-${randomBytes(3).toString('hex')}`;
  await applySettings(session, org, buildSettings({ lab: true, maxConcurrent }, session, org));
  return org;
}

export function csvFor(addresses: string[], password: string): string {
  return ['EmailAddress,Password,ForceChangePassword', ...addresses.map((a) => `${a},${password},False`)].join('\r\n') + '\r\n';
}

export interface BatchTiming {
  org: string;
  batch: number;
  /** start → the batch left provisioning (Mailboxes Ready e-mail next) */
  readyMs: number | null;
  /** start → batch result (Migration Complete sent) */
  completeMs: number;
  result: BatchResult;
}

const COPYING_OR_LATER: BatchPhase[] = ['copying', 'completed'];

/**
 * Starts a batch from CSV text and waits for it, timing Mailboxes Ready by the
 * batch's MailferryState search attribute (the phase it upserts, read by
 * describe from the server alone): a `batch status` query would make the
 * worker summarise and encrypt every row five times a second, and the bench
 * would measure its own polling.
 */
export async function timedBatch(session: Session, org: string, csv: string): Promise<BatchTiming> {
  const started = Date.now();
  const { batch } = await startBatch(session, org, {
    startedBy: 'bench',
    notify: [],
    source: { kind: 'csv', fileName: 'bench.csv', csv: session.secrets.seal(org, csv) },
  });
  const handle = session.client.workflow.getHandle(batchWorkflowId(org, batch));
  let readyMs: number | null = null;
  let done = false;
  const poll = (async () => {
    while (!done && readyMs === null) {
      try {
        const phase = (await handle.describe()).typedSearchAttributes.get(MailferryState) as BatchPhase | undefined;
        if (phase && COPYING_OR_LATER.includes(phase)) readyMs = Date.now() - started;
      } catch {
        // a describe during continue-as-new can miss the run; the next poll finds the new one
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const result = (await handle.result()) as BatchResult;
  const completeMs = Date.now() - started;
  done = true;
  await poll;
  return { org, batch, readyMs, completeMs, result };
}

/**
 * Per activity type, the wall time from the first start to the last end over
 * every execution of an organisation's workflows: which step of a batch took
 * how long (e.g. copyMail against copyContactsAndCalendars).
 */
export async function activitySpans(session: Session, org: string): Promise<Record<string, number>> {
  const spans = new Map<string, { start: number; end: number }>();
  await new Promise((r) => setTimeout(r, 1000)); // visibility catches up with the last closes
  const millis = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
  for await (const wf of session.client.workflow.list({ query: `MailferryOrg = '${org}'` })) {
    const history = await session.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const started = new Map<string, { type: string; at: number }>();
    for (const ev of history.events ?? []) {
      const scheduled = ev.activityTaskScheduledEventAttributes;
      if (scheduled) started.set(String(ev.eventId), { type: scheduled.activityType?.name ?? '?', at: millis(ev.eventTime) });
      const ended = ev.activityTaskCompletedEventAttributes ?? ev.activityTaskFailedEventAttributes;
      const s = ended ? started.get(String(ended.scheduledEventId)) : undefined;
      if (s) {
        const span = spans.get(s.type) ?? { start: Infinity, end: 0 };
        spans.set(s.type, { start: Math.min(span.start, s.at), end: Math.max(span.end, millis(ev.eventTime)) });
      }
    }
  }
  return Object.fromEntries([...spans].map(([type, s]) => [type, s.end - s.start]));
}
