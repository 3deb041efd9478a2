/**
 * Real worker processes for the faults: started on the suite's Temporal
 * server, killed with SIGKILL at will, and every line they printed kept in
 * test-artifacts/faults/logs for the secrets scan.
 */
import { join } from 'node:path';
import { labEnv, startWorker, type WorkerProcess } from '../../helpers/backbone';
import { writeArtifact } from './env';

let counter = 0;

export class WorkerPool {
  readonly running = new Set<WorkerProcess>();
  /** SIGKILLs delivered: the process was alive and died of that signal */
  kills = 0;
  /** what the workers that have exited printed */
  private readonly exited: string[] = [];

  /** `env` picks the task queue: a pool with a queue of its own kills nobody else's runs */
  constructor(
    readonly name: string,
    readonly env: NodeJS.ProcessEnv = labEnv(),
  ) {}

  async start(): Promise<WorkerProcess> {
    const n = ++counter;
    const worker = await startWorker(this.env);
    worker.child.once('exit', () => {
      this.running.delete(worker);
      this.exited.push(worker.output());
      writeArtifact(join('logs', `${this.name}-worker-${n}.log`), worker.output());
    });
    this.running.add(worker);
    return worker;
  }

  /** SIGKILLs the worker; true (and counted) only when the signal is what ended it */
  async kill(worker: WorkerProcess): Promise<boolean> {
    const wasAlive = worker.child.exitCode === null && worker.child.signalCode === null;
    await worker.stop('SIGKILL');
    const delivered = wasAlive && worker.child.signalCode === 'SIGKILL';
    if (delivered) this.kills++;
    return delivered;
  }

  /** every line the pool's workers printed so far, the killed ones' included */
  output(): string {
    return [...this.exited, ...[...this.running].map((w) => w.output())].join('\n');
  }

  /** kills the only worker and starts its replacement */
  async crashAndReplace(): Promise<boolean> {
    const [worker] = [...this.running];
    const delivered = worker ? await this.kill(worker) : false;
    await this.start();
    return delivered;
  }

  /** the worker whose Temporal identity (`pid@host`) is `identity` */
  byIdentity(identity: string | null | undefined): WorkerProcess | undefined {
    return [...this.running].find((w) => identity?.startsWith(`${w.child.pid}@`));
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((w) => w.stop('SIGTERM')));
  }
}
