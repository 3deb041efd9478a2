/**
 * What a command needs besides its own input: a worker polling mailferry's
 * task queue, and a payload key that opens the stored runs. Used before every
 * command that talks to workflows (an update with no worker would wait
 * forever) and by `mailferry doctor`; `explainFailure` turns the SDK's errors
 * for these into the CLI's exit codes with the command that fixes them.
 */
import { ServiceError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { CodecError } from '../shared/codec';
import { EnvFileError } from '../shared/envFile';
import type { Session } from './connection';
import { CliError, EXIT } from './errors';

/** A live worker long-polls about once a minute, so a poller older than this has stopped. */
const POLLER_FRESH_MS = 90_000;
const GRPC_FAILED_PRECONDITION = 9;
const GRPC_DEADLINE_EXCEEDED = 4;

export const fixes = {
  worker: 'start one with `npm run worker` in the mailferry folder (it reads the same .env, or the demo’s .state/demo.env)',
  key: '`mailferry init` writes a key and a .env; after `npm run demo` run the CLI in the mailferry folder (it reads .state/demo.env)',
  org: 'give --org NAME, or set MAILFERRY_ORG in .env (`mailferry init --org NAME` writes it)',
} as const;

export interface Pollers {
  live: number;
  /** when the most recent poller was seen, if ever */
  lastSeen: Date | null;
}

export async function workflowPollers(client: Client, taskQueue: string): Promise<Pollers> {
  const described = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const seen = (described.pollers ?? []).map((p) => Number(p.lastAccessTime?.seconds ?? 0) * 1000);
  const now = Date.now();
  return { live: seen.filter((t) => now - t < POLLER_FRESH_MS).length, lastSeen: seen.length ? new Date(Math.max(...seen)) : null };
}

export function noWorkerError(taskQueue: string, why: string): CliError {
  return new CliError(`No worker polls the task queue "${taskQueue}" (${why}): ${fixes.worker}`, EXIT.NO_WORKER);
}

export const lastSeenText = (lastSeen: Date | null) =>
  lastSeen ? `the last one was seen at ${lastSeen.toISOString()}` : 'none has polled it';

export async function requireWorker(session: Session): Promise<void> {
  let pollers = await workflowPollers(session.client, session.taskQueue);
  if (pollers.live === 0) {
    // a worker started a moment ago has not sent its first poll yet
    await new Promise((r) => setTimeout(r, 2000));
    pollers = await workflowPollers(session.client, session.taskQueue);
  }
  if (pollers.live === 0) throw noWorkerError(session.taskQueue, lastSeenText(pollers.lastSeen));
}

/** The CliError for a configuration problem, or undefined when `err` is something else. */
export function explainFailure(err: unknown, taskQueue?: string): CliError | undefined {
  if (err instanceof CliError) return err;
  if (err instanceof EnvFileError) return new CliError(err.message, EXIT.NOT_CONFIGURED);
  if (err instanceof CodecError) {
    if (err.code === 'KEY_MISSING' || err.code === 'KEY_INVALID')
      return new CliError(`${err.message} Fix: ${fixes.key}.`, EXIT.NOT_CONFIGURED);
    return new CliError(
      `${err.message} The CLI's key is not the one the worker wrote these runs with: give it the worker's MAILFERRY_CODEC_KEY_FILE (in the worker's .env).`,
      EXIT.NOT_CONFIGURED,
    );
  }
  if (err instanceof ServiceError && taskQueue) {
    const cause = err.cause as { code?: number; details?: string } | undefined;
    if (cause?.code === GRPC_FAILED_PRECONDITION && /no poller/i.test(cause.details ?? ''))
      return noWorkerError(taskQueue, `the server says: ${cause.details}`);
    if (cause?.code === GRPC_DEADLINE_EXCEEDED)
      return new CliError(`No worker on the task queue "${taskQueue}" answered in time: ${fixes.worker}`, EXIT.NO_WORKER);
  }
  return undefined;
}
