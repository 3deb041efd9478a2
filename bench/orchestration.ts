/**
 * Orchestration cost: a 1,000-row batch whose mailboxes hold one small
 * message each, so directory work and Temporal orchestration dominate.
 * History is counted from every execution of the batch (continue-as-new
 * runs included) and of its children (a row runs once to provision, once to
 * copy), found through the MailferryOrg search attribute.
 */
import type { Client } from '@temporalio/client';
import type { LabInfo } from '../lab/info';
import { batchWorkflowId } from '../workflows/definitions';
import { benchOrganisation, benchSession, csvFor, startWorker, timedBatch } from './mailferry';
import { createUsersInBulk } from './users';
import { createOrgUser } from '../lab/users';
import { serverCpuMeter } from './cpu';

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
  continuedAsNew: boolean;
  workerPeakRss: number;
  workerStartupPeakRss: number;
  workerIdleRss: number;
  /** CPU ms per process during the batch: where the time goes */
  cpuMs: Record<string, number>;
}

async function countHistory(client: Client, org: string, batchId: string) {
  const executions: Array<{ workflowId: string; runId: string }> = [];
  for await (const wf of client.workflow.list({ query: `MailferryOrg = '${org}'` }))
    executions.push({ workflowId: wf.workflowId, runId: wf.runId });
  const counts: Array<{ batch: boolean; events: number }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < executions.length) {
        const e = executions[next++];
        const history = await client.workflow.getHandle(e.workflowId, e.runId).fetchHistory();
        counts.push({ batch: e.workflowId === batchId, events: history.events?.length ?? 0 });
      }
    }),
  );
  const sum = (batch: boolean) => counts.filter((c) => c.batch === batch).reduce((n, c) => n + c.events, 0);
  return {
    executions: { batch: counts.filter((c) => c.batch).length, children: counts.filter((c) => !c.batch).length },
    events: { batch: sum(true), children: sum(false), largestRun: Math.max(0, ...counts.map((c) => c.events)) },
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

  const worker = await startWorker(info, [], env);
  const session = await benchSession(info, env);
  try {
    const org = await benchOrganisation(session, 'bench-orch', concurrency);
    const cpu = serverCpuMeter(worker.pid, target?.cpu);
    const t = await timedBatch(session, org, csvFor(addresses, password));
    const cpuMs = cpu();
    log(`  batch: Mailboxes Ready ${((t.readyMs ?? NaN) / 1000).toFixed(1)} s, Migration Complete ${(t.completeMs / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 2000)); // visibility catches up with the last closes
    const h = await countHistory(session.client, org, batchWorkflowId(org, t.batch));
    return {
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
      continuedAsNew: h.executions.batch > 1,
      workerPeakRss: worker.peakRss(),
      workerStartupPeakRss: worker.startupPeakRss,
      workerIdleRss: worker.idleRss,
      cpuMs,
    };
  } finally {
    await session.close();
    await worker.stop();
  }
}
