/**
 * `mailferry mailbox convert-to-meu|rollback`, `migration complete` and
 * `batch sync`: updates on the organisation workflow, which starts the work
 * and answers with what it started (or refuses with the reason); the CLI then
 * waits for that work's result.
 */
import type { ConvertResult } from '../workflows/convert';
import {
  completeMigrationUpdate,
  convertToMeuUpdate,
  organisationWorkflowId,
  rollbackMailboxUpdate,
  type CompleteMigrationResult,
  type MailboxOutcome,
  type OrganisationState,
} from '../workflows/definitions';
import { adminTarget } from '../shared/adminPath';
import { adminToken } from './adminToken';
import { startBatch } from './batch';
import type { Session } from './connection';
import { CliError, EXIT } from './errors';
import { orgState, refusedAsCliError } from './org';

const orgHandle = (session: Session, org: string) => session.client.workflow.getHandle(organisationWorkflowId(org));

export async function convertToMeu(
  session: Session,
  org: string,
  by: string,
  target: { mailboxes?: string[]; batch?: number },
): Promise<ConvertResult & { workflowId: string }> {
  const { workflowId } = await refusedAsCliError(() =>
    orgHandle(session, org).executeUpdate(convertToMeuUpdate, {
      args: [{ by, ...target, token: adminToken(session, org, 'convertToMeu', adminTarget.convertToMeu(target)) }],
    }),
  );
  const result = (await session.client.workflow.getHandle(workflowId).result()) as ConvertResult;
  return { workflowId, ...result };
}

export async function rollbackMailbox(session: Session, org: string, by: string, address: string): Promise<MailboxOutcome> {
  const { workflowId } = await refusedAsCliError(() =>
    orgHandle(session, org).executeUpdate(rollbackMailboxUpdate, {
      args: [{ by, address: address.toLowerCase(), token: adminToken(session, org, 'rollback', adminTarget.rollback({ address })) }],
    }),
  );
  try {
    return (await session.client.workflow.getHandle(workflowId).result()) as MailboxOutcome;
  } catch (err) {
    const cause = (err as { cause?: Error }).cause;
    throw new CliError(`Rollback of ${address} failed: ${cause?.message ?? String(err)}`, EXIT.REFUSED);
  }
}

export async function completeMigration(session: Session, org: string, by: string): Promise<CompleteMigrationResult> {
  const token = adminToken(session, org, 'completeMigration', adminTarget.completeMigration());
  return refusedAsCliError(() => orgHandle(session, org).executeUpdate(completeMigrationUpdate, { args: [{ by, token }] }));
}

/** The batch a sync pass copies again: the given one, or the latest batch that was not itself a sync pass. */
export function batchToSync(state: OrganisationState, requested?: number): number {
  const candidates = state.batches.filter((b) => !b.source.startsWith('sync of batch'));
  if (requested !== undefined) {
    if (!candidates.some((b) => b.batch === requested))
      throw new CliError(`Organisation ${state.org} has no batch ${requested} to sync`, EXIT.NOT_FOUND);
    return requested;
  }
  const latest = candidates.at(-1);
  if (!latest) throw new CliError(`Organisation ${state.org} has no batch to sync yet`, EXIT.NOT_FOUND);
  return latest.batch;
}

export async function syncBatch(
  session: Session,
  org: string,
  by: string,
  requested?: number,
): Promise<{ batch: number; workflowId: string; of: number }> {
  const of = batchToSync(await orgState(session.client, org), requested);
  const started = await startBatch(session, org, { startedBy: by, notify: [], source: { kind: 'sync', batch: of } });
  return { ...started, of };
}
