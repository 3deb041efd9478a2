/**
 * The namespace as mailferry needs it: registered with an explicit retention
 * and with every search attribute of shared/searchAttributes.ts. The one place
 * the retention is set; scripts/temporal-up.sh (dev server),
 * scripts/cluster-up.sh (PostgreSQL cluster) and docker-compose.yml (its
 * temporal-namespace job, in the mailferry image) all run this file:
 *
 *   TEMPORAL_ADDRESS=host:7233 [TEMPORAL_NAMESPACE=default] npx tsx deploy/temporal/namespace.ts
 *
 * Idempotent: a namespace that exists keeps its other settings, only its
 * retention is corrected; attributes already registered with the same type stay.
 */
import { Connection } from '@temporalio/client';
import { msToTs, tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { mailferrySearchAttributes } from '../../shared/searchAttributes';

/**
 * How long Temporal keeps a finished run (batch, mailbox, organisation) readable,
 * in the Web UI and `temporal workflow show`. It is there for people reading
 * history; mailferry's own record of a migration must never depend on it.
 */
export const NAMESPACE_RETENTION_DAYS = 30;

const RETENTION_MS = NAMESPACE_RETENTION_DAYS * 24 * 60 * 60 * 1000;
/** the server's namespace cache refreshes every 2 s (system.namespaceCacheRefreshInterval); a change is visible to every service after that */
const PROPAGATION_MS = 5_000;

const { IndexedValueType } = temporal.api.enums.v1;

export class NamespaceSetupError extends Error {
  readonly code = 'NAMESPACE_SETUP_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'NamespaceSetupError';
  }
}

const env = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** how long to wait for the frontend to answer (a server just started) */
  MAILFERRY_NAMESPACE_WAIT_SECONDS: z.coerce.number().int().positive().default(120),
});

export interface NamespaceChanges {
  registered: boolean;
  retentionUpdated: boolean;
  attributesAdded: string[];
}

const isNotFound = (err: unknown) => (err as { code?: number }).code === 5; // gRPC NOT_FOUND

async function connect(address: string, waitSeconds: number): Promise<Connection> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: '5 seconds' });
      await connection.workflowService.getSystemInfo({});
      return connection;
    } catch (err) {
      if (Date.now() > deadline)
        throw new NamespaceSetupError(
          `Temporal frontend at ${address} did not answer in ${waitSeconds} s (${err instanceof Error ? err.message : String(err)}): is the server running?`,
        );
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export async function ensureNamespace(connection: Connection, namespace: string): Promise<NamespaceChanges> {
  const changes: NamespaceChanges = { registered: false, retentionUpdated: false, attributesAdded: [] };
  const service = connection.workflowService;
  try {
    const current = await service.describeNamespace({ namespace });
    const ttl = current.config?.workflowExecutionRetentionTtl;
    if (!ttl || tsToMs(ttl) !== RETENTION_MS) {
      await service.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: msToTs(RETENTION_MS) } });
      changes.retentionUpdated = true;
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await service.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(RETENTION_MS) });
    changes.registered = true;
  }

  // A namespace registered a moment ago may not be known to every service yet: retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
      for (const key of mailferrySearchAttributes) {
        const wanted = IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`];
        const has = customAttributes?.[key.name];
        if (has === undefined || has === null) missing[key.name] = wanted;
        else if (has !== wanted)
          throw new NamespaceSetupError(
            `search attribute ${key.name} exists in namespace ${namespace} with type ${IndexedValueType[has]}, mailferry needs ${IndexedValueType[wanted]}: remove it or use another namespace`,
          );
      }
      if (Object.keys(missing).length) {
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
        changes.attributesAdded = Object.keys(missing);
      }
      break;
    } catch (err) {
      if (err instanceof NamespaceSetupError || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  if (changes.registered || changes.retentionUpdated || changes.attributesAdded.length)
    await new Promise((r) => setTimeout(r, PROPAGATION_MS));
  return changes;
}

async function main(): Promise<void> {
  const cfg = env.parse(process.env);
  const connection = await connect(cfg.TEMPORAL_ADDRESS, cfg.MAILFERRY_NAMESPACE_WAIT_SECONDS);
  try {
    const c = await ensureNamespace(connection, cfg.TEMPORAL_NAMESPACE);
    const done = [
      c.registered ? 'registered' : 'exists',
      `retention ${NAMESPACE_RETENTION_DAYS} days${c.retentionUpdated ? ' (updated)' : ''}`,
      c.attributesAdded.length ? `search attributes added: ${c.attributesAdded.join(', ')}` : 'search attributes present',
    ];
    console.error(`namespace ${cfg.TEMPORAL_NAMESPACE} at ${cfg.TEMPORAL_ADDRESS}: ${done.join('; ')}`);
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`namespace: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
