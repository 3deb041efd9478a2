/**
 * The cluster suite's handles on the servers of scripts/test-cluster.sh: the
 * Temporal server process of its state folder (SIGKILLed and started again),
 * PostgreSQL (crashed and started again), worker processes on the cluster,
 * and which worker is running a mail copy right now.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ROOT, labEnv, startWorker, type WorkerProcess } from '../helpers/backbone';

export class ClusterSuiteError extends Error {
  readonly code = 'CLUSTER_NOT_ISOLATED';
  constructor(message: string) {
    super(message);
    this.name = 'ClusterSuiteError';
  }
}

/** The suite kills the Temporal server and PostgreSQL: only those of its own state folder. */
export function clusterStateDir(): string {
  const dir = process.env.MAILFERRY_CLUSTER_STATE_DIR;
  if (!dir || !process.env.MAILFERRY_LAB_DIR)
    throw new ClusterSuiteError('run the cluster suite with `npm run test:cluster` (it starts a cluster and a lab of its own)');
  return dir;
}

const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

function script(name: string, ...args: string[]): string {
  const result = spawnSync('bash', [join(ROOT, 'scripts', name), ...args], { encoding: 'utf8', env: process.env });
  if (result.status !== 0) throw new Error(`${name} ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  return result.stdout.trim();
}

/** cluster-up.sh: starts whatever part is down, on its data; returns the frontend address. */
export const clusterUp = (): string => script('cluster-up.sh');
export const clusterDown = (): void => void script('cluster-down.sh');
export const crashPostgres = (): void => void script('cluster-down.sh', '--crash-postgres');

export async function killTemporalServer(): Promise<number> {
  const pid = Number(readFileSync(join(clusterStateDir(), 'temporal.pid'), 'utf8').trim());
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  if (!cmd.includes('--env mailferry')) throw new ClusterSuiteError(`pid ${pid} is not the suite's Temporal server: ${cmd}`);
  process.kill(pid, 'SIGKILL');
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
  return pid;
}

/** Worker processes on the cluster, all polling the suite's task queue. */
export class Fleet {
  readonly running: WorkerProcess[] = [];
  readonly logs: string[] = [];

  async start(n = 1): Promise<void> {
    const started = await Promise.all(Array.from({ length: n }, () => startWorker(labEnv())));
    for (const w of started) {
      w.child.once('exit', () => this.logs.push(w.output()));
      this.running.push(w);
    }
  }

  async kill(worker: WorkerProcess): Promise<void> {
    this.running.splice(this.running.indexOf(worker), 1);
    await worker.stop('SIGKILL');
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.running.splice(0).map((w) => w.stop('SIGTERM')));
  }
}

/**
 * The workers whose mail copy is running now, from the mailbox runs' pending
 * activities (a worker's identity is `<pid>@<host>`, the SDK's default).
 */
export async function workersCopying(client: Client, workflowIds: string[], fleet: Fleet): Promise<WorkerProcess[]> {
  const pids = new Set<number>();
  for (const id of workflowIds) {
    const d = await client.workflow
      .getHandle(id)
      .describe()
      .catch(() => undefined);
    for (const a of d?.raw.pendingActivities ?? []) {
      if (
        !a.activityType?.name?.startsWith('copy') ||
        a.state !== temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
      )
        continue;
      const pid = Number(a.lastWorkerIdentity?.split('@')[0]);
      if (pid) pids.add(pid);
    }
  }
  return fleet.running.filter((w) => pids.has(w.child.pid ?? -1));
}
