/** What every fault file needs: the suite's lab, a client session, a worker pool and users of its own. */
import { readLabInfo, type LabInfo } from '../../../lab/info';
import type { Session } from '../../../client/connection';
import { randomBytes } from 'node:crypto';
import { openSession } from '../../../client/connection';
import { labEnv, TestUsers } from '../../helpers/backbone';
import { stateDir } from './env';
import { WorkerPool } from './workers';

export interface FaultContext {
  info: LabInfo;
  session: Session;
  pool: WorkerPool;
  users: TestUsers;
}

/** Each context has a task queue of its own, so contexts of one file can run side by side and a kill in one never touches another. */
export async function openFaultContext(name: string, envOverrides: NodeJS.ProcessEnv = {}): Promise<FaultContext> {
  stateDir(); // refuses to go on against the shared servers
  const info = readLabInfo();
  const env = { ...labEnv(info), MAILFERRY_TASK_QUEUE: `faults-${name}-${randomBytes(3).toString('hex')}`, ...envOverrides };
  return { info, session: await openSession(env), pool: new WorkerPool(name, env), users: new TestUsers(info) };
}

export async function closeFaultContext(ctx: FaultContext | undefined): Promise<void> {
  if (!ctx) return;
  await ctx.pool.stopAll();
  await ctx.users.cleanup();
  await ctx.session.close();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 10 * 60_000, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
