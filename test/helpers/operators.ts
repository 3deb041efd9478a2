/**
 * For the operator tests: a worker and a client of the test's own task queue,
 * so a run never lands on a worker another checkout (or an older build of this
 * one) started on the shared dev server, and small waiting helpers.
 */
import { randomBytes } from 'node:crypto';
import { openSession, type Session } from '../../client/connection';
import { batchStatusQuery, batchWorkflowId, type BatchResult, type BatchStatus } from '../../workflows/definitions';
import { labEnv, startWorker, type WorkerProcess } from './backbone';

export { waitFor } from './backbone';

export interface OwnQueue {
  env: NodeJS.ProcessEnv;
  session: Session;
  worker: WorkerProcess;
  close(): Promise<void>;
}

/** `overrides` change the worker's environment, e.g. a relay in front of the cloud IMAP server. */
export async function ownQueue(prefix: string, overrides: NodeJS.ProcessEnv = {}): Promise<OwnQueue> {
  const env = { ...labEnv(), ...overrides, MAILFERRY_TASK_QUEUE: `${prefix}-${randomBytes(3).toString('hex')}` };
  const worker = await startWorker(env);
  const session = await openSession(env);
  return {
    env,
    session,
    worker,
    async close() {
      // MF_DEBUG=1 shows the end of the worker's log, for a failing suite
      if (process.env.MF_DEBUG === '1') console.log(worker.output().slice(-5000));
      await worker.stop();
      await session.close();
    },
  };
}

export async function batchStatusOf(session: Session, org: string, batch: number): Promise<BatchStatus> {
  return session.client.workflow.getHandle(batchWorkflowId(org, batch)).query(batchStatusQuery);
}

/** A "batch finished" result as someone without the batch would forge it: completed, nothing in it. */
export function forgedBatchResult(batch: number): BatchResult {
  return {
    batch,
    phase: 'completed',
    total: 0,
    created: 0,
    completed: 0,
    failed: 0,
    stopped: 0,
    rejected: 0,
    runs: 1,
    messagesCopied: 0,
    bytesCopied: 0,
    reports: [],
  };
}
