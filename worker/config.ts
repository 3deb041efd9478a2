/**
 * The worker's configuration, from the environment, validated once at start
 * so a typo fails with the variable's name instead of mid-batch. Cloud-side
 * credentials live here (the worker is the cloud's service); the source side
 * comes from each organisation's settings.
 */
import { z } from 'zod';
import { loadEnvFile } from '../shared/envFile';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const port = z.coerce.number().int().min(1).max(65535);

export const workerEnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  /** Temporal Cloud or any TLS cluster */
  TEMPORAL_TLS: bool.default(false),
  TEMPORAL_API_KEY: z.string().optional(),
  MAILFERRY_TASK_QUEUE: z.string().default('mailferry'),
  MAILFERRY_REPORTS_DIR: z.string().default('reports'),
  MAILFERRY_REPORT_FROM: z.string().email().default('mailferry@cloud.test'),
  MAILFERRY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  MAILFERRY_METRICS_PORT: port.optional(),
  /** the metrics endpoint's address: loopback unless a scraper elsewhere needs it (compose sets 0.0.0.0 inside its network) */
  MAILFERRY_METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /**
   * Workflow runs kept in memory between tasks. The SDK's default grows with the heap limit (thousands here), and
   * every open mailbox record would stay cached; a run evicted is replayed from its (short) history when it next has work.
   * 100: the runs that can have work at once on one worker, the mailbox run and the record of each of the rows its 40
   * activity slots can serve, plus batches and organisations; the records of finished rows, idle until the next re-run
   * or Complete Migration, are the ones the cache drops first.
   */
  MAILFERRY_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(2).default(100),

  MAILFERRY_CLOUD_LDAP_URL: z.string().url(),
  MAILFERRY_CLOUD_LDAP_BASE_DN: z.string().min(1),
  MAILFERRY_CLOUD_LDAP_BIND_DN: z.string().min(1),
  MAILFERRY_CLOUD_LDAP_PASSWORD: z.string().min(1),
  MAILFERRY_CLOUD_ROUTING_DOMAIN: z.string().min(1),
  MAILFERRY_CLOUD_IMAP_HOST: z.string().min(1),
  MAILFERRY_CLOUD_IMAP_PORT: port,
  MAILFERRY_CLOUD_IMAP_SECURE: bool.default(false),
  MAILFERRY_CLOUD_IMAP_MASTER_USER: z.string().min(1),
  MAILFERRY_CLOUD_IMAP_PASSWORD: z.string().min(1),
  MAILFERRY_CLOUD_DAV_URL: z.string().url(),
  MAILFERRY_CLOUD_DAV_USER: z.string().min(1),
  MAILFERRY_CLOUD_DAV_PASSWORD: z.string().min(1),
  /** consent to send the cloud passwords without TLS to hosts other than this machine */
  MAILFERRY_CLOUD_ALLOW_PLAINTEXT: bool.default(false),

  MAILFERRY_SMTP_HOST: z.string().min(1),
  MAILFERRY_SMTP_PORT: port,
  MAILFERRY_SMTP_SECURE: bool.default(false),
  MAILFERRY_SMTP_USER: z.string().optional(),
  MAILFERRY_SMTP_PASSWORD: z.string().optional(),
  /** consent to log in to a remote SMTP server that offers no TLS */
  MAILFERRY_SMTP_ALLOW_PLAINTEXT: bool.default(false),
});

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(issues: string[], file: string | null = null) {
    super(
      `The worker's environment${file ? ` (with ${file})` : ''} is not valid:\n${issues.map((i) => `  - ${i}`).join('\n')}\n` +
        'See .env.example for every variable, or write a .env with `mailferry init`.',
    );
    this.name = 'ConfigError';
  }
}

export function loadWorkerEnv(env: NodeJS.ProcessEnv = process.env, file: string | null = null): WorkerEnv {
  const parsed = workerEnvSchema.safeParse(env);
  if (!parsed.success) {
    // names only: a value may be a password
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
      file,
    );
  }
  return parsed.data;
}

/**
 * The settings file (MAILFERRY_ENV_FILE, else ./.env, else the demo's; see
 * shared/envFile.ts) under the environment, validated. Not an `--env-file`
 * argument: Node 20 takes that for its own option wherever it appears.
 */
export function loadWorkerSettings(): { env: WorkerEnv; file: string | null } {
  const { file } = loadEnvFile(undefined);
  return { env: loadWorkerEnv(process.env, file), file };
}
