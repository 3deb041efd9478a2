/**
 * Kills the worker while a given activity runs (or one sub-step of an
 * activity, named by the step its heartbeat details give, as provisionMailbox
 * records them): the pending activities of the watched workflows are polled,
 * and when the activity is pending on one of the pool's workers the worker is
 * SIGKILLed after a seeded delay. The kill counts
 * as delivered only when the signal ended the process and the activity was
 * still pending afterwards (it had not completed before the kill).
 */
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import type { Session } from '../../../client/connection';
import type { Rng } from '../../../lab/seed/rng';
import { sleep } from './suite';
import type { WorkerPool } from './workers';

const { PENDING_ACTIVITY_STATE_STARTED } = temporal.api.enums.v1.PendingActivityState;

interface Pending {
  workflowId: string;
  activityId: string;
  attempt: number;
  started: boolean;
  identity: string;
}

/** an activity type, or a sub-step of one: the activity pending with `{ step }` in its last heartbeat's details */
export type Watched = string | { activity: string; step: string };

const nameOf = (w: Watched) => (typeof w === 'string' ? w : `${w.activity} at ${w.step}`);

async function pendingOf(session: Session, workflowId: string, watched: Watched): Promise<Pending[]> {
  const d = await session.client.workflowService.describeWorkflowExecution({ namespace: session.client.options.namespace, execution: { workflowId } });
  const type = typeof watched === 'string' ? watched : watched.activity;
  const atStep = async (p: temporal.api.workflow.v1.IPendingActivityInfo) => {
    if (typeof watched === 'string') return true;
    const beat = await decodeFromPayloadsAtIndex<{ step?: string }>(session.client.options.loadedDataConverter, 0, p.heartbeatDetails?.payloads).catch(() => null);
    return beat?.step === watched.step;
  };
  const found: temporal.api.workflow.v1.IPendingActivityInfo[] = [];
  for (const p of d.pendingActivities ?? []) if (p.activityType?.name === type && (await atStep(p))) found.push(p);
  return found.map((p) => ({
      workflowId,
      activityId: p.activityId ?? '',
      attempt: p.attempt ?? 0,
      started: p.state === PENDING_ACTIVITY_STATE_STARTED,
      identity: p.lastWorkerIdentity ?? '',
    }));
}

export interface PhaseKill {
  delivered: boolean;
  log: string[];
}

/**
 * Watches `workflowIds()` until `watched` is pending (started, or only
 * scheduled when `scheduledCounts`), then kills its worker after 0…maxDelayMs
 * (seeded) and starts a replacement. Tries again on the next occurrence when a
 * kill came too late, until `timeoutMs` or until `until()` says the watched runs ended.
 */
export async function killDuring(
  session: Session,
  pool: WorkerPool,
  workflowIds: () => Promise<string[]> | string[],
  watched: Watched,
  rng: Rng,
  opts: { maxDelayMs: number; timeoutMs: number; scheduledCounts?: boolean; until?: () => Promise<boolean> },
): Promise<PhaseKill> {
  const log: string[] = [];
  const activity = nameOf(watched);
  const deadline = Date.now() + opts.timeoutMs;
  const missed = new Set<string>();
  while (Date.now() < deadline) {
    for (const id of await workflowIds()) {
      const pending = await pendingOf(session, id, watched).catch(() => []);
      const hit = pending.find((p) => (p.started || opts.scheduledCounts) && !missed.has(`${p.workflowId}/${p.activityId}/${p.attempt}`));
      if (!hit) continue;
      const worker = hit.started ? pool.byIdentity(hit.identity) : [...pool.running][0];
      if (!worker) continue;
      const delay = rng.int(0, opts.maxDelayMs);
      await sleep(delay);
      const killed = await pool.kill(worker);
      const after = await pendingOf(session, id, watched);
      const stillPending = after.some((p) => p.activityId === hit.activityId && p.attempt === hit.attempt);
      await pool.start();
      const what = `${activity} of ${id} (attempt ${hit.attempt}, ${hit.started ? 'started' : 'scheduled'}), SIGKILL after ${delay} ms`;
      if (killed && stillPending) {
        log.push(`delivered: ${what}; the activity was still pending after the kill`);
        return { delivered: true, log };
      }
      log.push(`too late: ${what}; ${killed ? 'the activity had completed first' : 'the worker was already gone'}`);
      missed.add(`${hit.workflowId}/${hit.activityId}/${hit.attempt}`);
    }
    if (opts.until && (await opts.until().catch(() => false))) {
      log.push(`no ${activity} caught before the watched runs ended`);
      return { delivered: false, log };
    }
    await sleep(15);
  }
  log.push(`no ${activity} caught in ${Math.round(opts.timeoutMs / 1000)} s`);
  return { delivered: false, log };
}
