/**
 * Orchestration cost: a 1,000-row batch whose mailboxes hold one small
 * message each, so directory work and Temporal orchestration dominate.
 * History is counted from every execution of the batch (continue-as-new
 * runs included) and of its children (a row runs once to provision, once to
 * copy), found through the MailferryOrg search attribute.
 */
import type { Client } from '@temporalio/client';
import { mkdirSync, rmSync } from 'node:fs';
import type { LabInfo } from '../lab/info';
import { batchWorkflowId } from '../workflows/definitions';
import { benchOrganisation, benchSession, csvFor, startWorker, timedBatch } from './mailferry';
import { createUsersInBulk } from './users';
import { createOrgUser } from '../lab/users';
import { serverCpuMeter } from './cpu';
import { renderProfile, summariseProfiles, type ProfileSummary } from './cpuProfile';
import { batchLatency, renderLatency, type BatchLatency, type FetchedRun } from './latency';

export interface OrchestrationResult {
  rows: number;
  concurrency: number;
  /** createOrgUser per user (measured on a few), and the bulk helper's total */
  createOrgUserMsEach: number;
  bulkCreateMs: number;
  readyMs: number | null;
  completeMs: number;
  rowsPerSecond: number;
  completed: number;
  failed: number;
  executions: { batch: number; children: number };
  historyEvents: { batch: number; children: number; perRow: number; largestRun: number };
  /** activity tasks scheduled (each a round trip through the server) and local activities (a marker in the caller's history), per row */
  activityTasks?: { perRow: number; localPerRow: number; byType: Record<string, number> };
  /** history events per row by workflow type: where the events are */
  eventsByType?: Record<string, number>;
  /** the largest payload in any history (bytes, as stored: encrypted), and where */
  largestPayload?: { bytes: number; where: string };
  continuedAsNew: boolean;
  workerPeakRss: number;
  workerStartupPeakRss: number;
  workerIdleRss: number;
  /** CPU ms per process during the batch: where the time goes */
  cpuMs: Record<string, number>;
  /** where each row's time goes, from the histories' event times (bench/latency.ts) */
  latency?: BatchLatency;
  /** `--profile`: the worker's node --cpu-prof over the batch (bench/cpuProfile.ts) */
  workerProfile?: ProfileSummary;
}

/** The largest payload of one history event: any `{ metadata, data }` object inside its attributes. */
function largestPayloadIn(value: unknown, depth = 0): number {
  if (!value || typeof value !== 'object' || depth > 12) return 0;
  if (value instanceof Uint8Array) return 0;
  const o = value as Record<string, unknown>;
  if (o.data instanceof Uint8Array && 'metadata' in o) return o.data.length;
  let max = 0;
  for (const v of Object.values(o)) max = Math.max(max, largestPayloadIn(v, depth + 1));
  return max;
}

async function countHistory(client: Client, org: string, batchId: string, concurrency: number) {
  const executions: Array<{ workflowId: string; runId: string; type: string }> = [];
  for await (const wf of client.workflow.list({ query: `MailferryOrg = '${org}'` }))
    executions.push({ workflowId: wf.workflowId, runId: wf.runId, type: wf.type });
  const eventsByType: Record<string, number> = {};
  const counts: Array<{ batch: boolean; events: number }> = [];
  const byType: Record<string, number> = {};
  let local = 0;
  let largest = { bytes: 0, where: '' };
  const fetched: FetchedRun[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < executions.length) {
        const e = executions[next++];
        const history = await client.workflow.getHandle(e.workflowId, e.runId).fetchHistory();
        fetched.push({ ...e, events: history.events ?? [] });
        counts.push({ batch: e.workflowId === batchId, events: history.events?.length ?? 0 });
        eventsByType[e.type] = (eventsByType[e.type] ?? 0) + (history.events?.length ?? 0);
        for (const event of history.events ?? []) {
          const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
          if (type) byType[type] = (byType[type] ?? 0) + 1;
          if (event.markerRecordedEventAttributes?.markerName === 'core_local_activity') local++;
          const bytes = largestPayloadIn(event);
          if (bytes > largest.bytes) largest = { bytes, where: `${e.workflowId}, event ${event.eventId} (${String(event.eventType)})` };
        }
      }
    }),
  );
  const sum = (batch: boolean) => counts.filter((c) => c.batch === batch).reduce((n, c) => n + c.events, 0);
  return {
    executions: { batch: counts.filter((c) => c.batch).length, children: counts.filter((c) => !c.batch).length },
    events: { batch: sum(true), children: sum(false), largestRun: Math.max(0, ...counts.map((c) => c.events)) },
    activities: { byType, local },
    eventsByType,
    largest,
    latency: batchLatency(fetched, batchId, concurrency),
  };
}

/** Another Temporal server than the bench's dev server: the PostgreSQL cluster of scripts/cluster-up.sh. */
export interface OrchestrationTarget {
  address: string;
  /** for the CPU split: the server's pid file and PostgreSQL's data folder */
  cpu: { temporalPidFile: string; postgresData: string };
  /** user names of their own, so both runs can share one lab */
  prefix: string;
}

export async function orchestrationBench(
  info: LabInfo,
  rows: number,
  concurrency: number,
  log: (line: string) => void,
  target?: OrchestrationTarget,
  /** a folder for the worker's node --cpu-prof files (emptied first); absent: no profile */
  profileDir?: string,
): Promise<OrchestrationResult> {
  const password = 'Bench!Row-Pass1';
  const prefix = target?.prefix ?? 'orch';
  const env = target ? { TEMPORAL_ADDRESS: target.address } : {};
  // createOrgUser, measured on a few users: it waits for Dovecot's passwd-file reload each time
  const probe = [1, 2, 3].map((n) => `${prefix}-probe-${n}@tailspintoys.com`);
  let started = Date.now();
  for (const address of probe) await createOrgUser(info, { address, password, kind: 'normal', messages: 1, contacts: 0, events: 0 });
  const createOrgUserMsEach = (Date.now() - started) / probe.length;

  const addresses = Array.from({ length: rows }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}@tailspintoys.com`);
  started = Date.now();
  await createUsersInBulk(info, addresses, password, 1);
  const bulkCreateMs = Date.now() - started;
  log(`  users: createOrgUser ${(createOrgUserMsEach / 1000).toFixed(2)} s each; ${rows} in bulk in ${(bulkCreateMs / 1000).toFixed(1)} s`);

  if (profileDir) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  const worker = await startWorker(info, profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [], env);
  let window = { fromUs: 0, toUs: 0 };
  let workerCpuMs = 0;
  let result: OrchestrationResult;
  const session = await benchSession(info, env);
  try {
    const org = await benchOrganisation(session, 'bench-orch', concurrency);
    const cpu = serverCpuMeter(worker.pid, target?.cpu);
    const nowUs = () => Number(process.hrtime.bigint() / 1000n);
    const fromUs = nowUs();
    const t = await timedBatch(session, org, csvFor(addresses, password));
    window = { fromUs, toUs: nowUs() };
    const cpuMs = cpu();
    workerCpuMs = cpuMs.worker ?? 0;
    log(`  batch: Mailboxes Ready ${((t.readyMs ?? NaN) / 1000).toFixed(1)} s, Migration Complete ${(t.completeMs / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 2000)); // visibility catches up with the last closes
    const h = await countHistory(session.client, org, batchWorkflowId(org, t.batch), concurrency);
    for (const line of renderLatency(h.latency, rows)) log(line);
    result = {
      rows,
      concurrency,
      createOrgUserMsEach,
      bulkCreateMs,
      readyMs: t.readyMs,
      completeMs: t.completeMs,
      rowsPerSecond: (rows * 1000) / t.completeMs,
      completed: t.result.completed,
      failed: t.result.failed,
      executions: h.executions,
      historyEvents: { ...h.events, perRow: (h.events.batch + h.events.children) / rows },
      activityTasks: {
        perRow: Object.values(h.activities.byType).reduce((n, c) => n + c, 0) / rows,
        localPerRow: h.activities.local / rows,
        byType: h.activities.byType,
      },
      largestPayload: h.largest,
      eventsByType: Object.fromEntries(Object.entries(h.eventsByType).map(([type, n]) => [type, n / rows])),
      continuedAsNew: h.executions.batch > 1,
      workerPeakRss: worker.peakRss(),
      workerStartupPeakRss: worker.startupPeakRss,
      workerIdleRss: worker.idleRss,
      cpuMs,
      latency: h.latency,
    };
  } finally {
    await session.close();
    await worker.stop();
  }
  if (profileDir) {
    // V8 writes the profiles as the worker exits
    result.workerProfile = summariseProfiles(profileDir, window.fromUs, window.toUs);
    for (const line of renderProfile(result.workerProfile, workerCpuMs)) log(line);
  }
  return result;
}
