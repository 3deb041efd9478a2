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
  kills = 0;

  constructor(readonly name: string) {}

  async start(): Promise<WorkerProcess> {
    const n = ++counter;
    const worker = await startWorker(labEnv());
    worker.child.once('exit', () => {
      this.running.delete(worker);
      writeArtifact(join('logs', `${this.name}-worker-${n}.log`), worker.output());
    });
    this.running.add(worker);
    return worker;
  }

  async kill(worker: WorkerProcess): Promise<void> {
    this.kills++;
    await worker.stop('SIGKILL');
  }

  /** kills the only worker and starts its replacement */
  async crashAndReplace(): Promise<WorkerProcess> {
    const [worker] = [...this.running];
    if (worker) await this.kill(worker);
    return this.start();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((w) => w.stop('SIGTERM')));
  }
}
