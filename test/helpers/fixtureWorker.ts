/**
 * A worker in the test's own process, on a task queue of its own, running a
 * fixture workflow and the activities the test hands it (real ones, or real
 * ones wrapped to fail on cue), against the real Temporal dev server.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { dataConverterOptions, loadCodec } from '../../shared/codec';
import { loadWorkerEnv } from '../../worker/config';

export interface FixtureWorker {
  stop(): Promise<void>;
}

export async function startFixtureWorker(
  env: NodeJS.ProcessEnv,
  options: { taskQueue: string; workflowsPath: string; activities: object },
): Promise<FixtureWorker> {
  const cfg = loadWorkerEnv(env);
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS }),
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: options.taskQueue,
    workflowsPath: options.workflowsPath,
    dataConverter: dataConverterOptions(loadCodec(env).codec),
    activities: options.activities,
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}
