/**
 * The worker process: validates its environment, connects to Temporal with the
 * shared payload codec, and runs every mailferry workflow and activity on the
 * task queue until SIGINT/SIGTERM.
 */
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import { createActivities } from '../activities';
import { dataConverterOptions, loadCodec } from '../shared/codec';
import { createSecretBox } from '../shared/secrets';
import { gatedDataConverter, gateInterceptors } from './payloadGate';
import { runSecrets } from './runSecrets';
import { loadWorkerSettings } from './config';
import { createConnectors } from './connectors';
import { activityLogging } from './activityLogging';
import { workflowCode } from './workflowBundle';
import { createLogger } from './logger';

const sdkLevels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

async function main(): Promise<void> {
  const { env, file } = loadWorkerSettings();
  const logger = createLogger(env.MAILFERRY_LOG_LEVEL);
  Runtime.install({
    // The SDK's own lines go through pino too, so the worker's stdout is one JSON stream.
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => {
      const { taskToken: _token, ...rest } = (meta ?? {}) as Record<string, unknown>;
      logger[sdkLevels[level]]({ sdk: rest }, message);
    }),
    telemetryOptions: env.MAILFERRY_METRICS_PORT
      ? { metrics: { prometheus: { bindAddress: `${env.MAILFERRY_METRICS_HOST}:${env.MAILFERRY_METRICS_PORT}` } } }
      : undefined,
  });
  const { codec, keyring } = loadCodec(process.env);
  const tls = env.TEMPORAL_TLS || Boolean(env.TEMPORAL_API_KEY);
  const connectionOptions = { address: env.TEMPORAL_ADDRESS, tls, apiKey: env.TEMPORAL_API_KEY };

  // one connection (the core's, in Rust) for the Worker and the ledger's client: a second, grpc-js one cost a channel,
  // its buffers and its keepalives for the same server
  const connection = await NativeConnection.connect(connectionOptions);
  // the ledger reads what the server stores as it is; only the Worker below refuses what it cannot authenticate
  const client = new Client({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterOptions(codec),
  });
  const secrets = runSecrets(createSecretBox(keyring));
  const activities = createActivities({
    connectors: createConnectors(env, secrets, client),
    secrets,
    reports: { dir: env.MAILFERRY_REPORTS_DIR, from: env.MAILFERRY_REPORT_FROM },
    logger,
  });

  const workflows = workflowCode((message) => logger.warn(message));
  const interceptors = gateInterceptors([activityLogging(logger)]) ?? {};
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.MAILFERRY_TASK_QUEUE,
    ...workflows,
    maxCachedWorkflows: env.MAILFERRY_MAX_CACHED_WORKFLOWS,
    activities,
    dataConverter: gatedDataConverter(codec),
    maxConcurrentActivityTaskExecutions: 40,
    // copy progress (status --watch) comes from heartbeat details: do not hold them back for 24 s
    maxHeartbeatThrottleInterval: '5 seconds',
    // a prebuilt bundle has the gate's workflow interceptors inside it already
    interceptors: { ...interceptors, workflowModules: workflows.workflowBundle ? undefined : interceptors.workflowModules },
  });
  logger.info(
    {
      taskQueue: env.MAILFERRY_TASK_QUEUE,
      temporal: env.TEMPORAL_ADDRESS,
      settingsFile: file,
      keyId: keyring.current.id,
      previousKeyIds: keyring.previous.map((k) => k.id),
      workflowCode: workflows.workflowBundle ? 'prebuilt bundle' : 'bundled in-process',
      maxCachedWorkflows: env.MAILFERRY_MAX_CACHED_WORKFLOWS,
    },
    'worker started',
  );
  await worker.run();
  await connection.close();
  logger.info('worker stopped');
}

main().catch((err: unknown) => {
  process.stderr.write(`mailferry worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
