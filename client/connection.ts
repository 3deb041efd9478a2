/**
 * The CLI's Temporal client: the same payload codec and failure converter as
 * the worker, and an error an admin can act on when the server is down.
 */
import { Client, Connection } from '@temporalio/client';
import { z } from 'zod';
import { dataConverterOptions, loadCodec } from '../shared/codec';
import { createSecretBox, type SecretBox } from '../shared/secrets';
import { TASK_QUEUE } from '../shared/domain';
import { CliError, EXIT } from './errors';

const clientEnv = z.object({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TLS: z.enum(['true', 'false', '1', '0']).default('false'),
  TEMPORAL_API_KEY: z.string().optional(),
  /** the worker's queue; a test gives its own worker its own queue so runs never land on another checkout's worker */
  MAILFERRY_TASK_QUEUE: z.string().min(1).default(TASK_QUEUE),
});

export interface Session {
  client: Client;
  secrets: SecretBox;
  taskQueue: string;
  close(): Promise<void>;
}

/** The client's Temporal settings from the environment (and .env), or the NOT_CONFIGURED exit naming the bad variable. */
export function clientSettings(env: NodeJS.ProcessEnv = process.env) {
  const parsed = clientEnv.safeParse(env);
  if (!parsed.success)
    throw new CliError(
      `Bad setting ${parsed.error.issues.map((i) => `${i.path.join('.')} (${i.message})`).join(', ')}: fix it in .env or the environment`,
      EXIT.NOT_CONFIGURED,
    );
  return parsed.data;
}

export async function connectTemporal(cfg: ReturnType<typeof clientSettings>): Promise<Connection> {
  try {
    return await Connection.connect({
      address: cfg.TEMPORAL_ADDRESS,
      tls: cfg.TEMPORAL_TLS === 'true' || cfg.TEMPORAL_TLS === '1' || Boolean(cfg.TEMPORAL_API_KEY),
      apiKey: cfg.TEMPORAL_API_KEY,
      connectTimeout: '5 seconds',
    });
  } catch (err) {
    throw new CliError(
      `Temporal server not reachable at ${cfg.TEMPORAL_ADDRESS} (${err instanceof Error ? err.message : String(err)}): start it with \`npm run temporal:up\`, or set TEMPORAL_ADDRESS in .env`,
      EXIT.TEMPORAL_UNREACHABLE,
    );
  }
}

export async function openSession(env: NodeJS.ProcessEnv = process.env): Promise<Session> {
  const cfg = clientSettings(env);
  const { codec, keyring } = loadCodec(env);
  const connection = await connectTemporal(cfg);
  const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE, dataConverter: dataConverterOptions(codec) });
  return { client, secrets: createSecretBox(keyring), taskQueue: cfg.MAILFERRY_TASK_QUEUE, close: () => connection.close() };
}
