/**
 * A copy's live progress, read the way an SRE would: the mailbox run's
 * pending copyMail activity and its last heartbeat (decoded with the client's
 * payload codec). Between heartbeats (every few seconds) it lags a little.
 */
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { CopyHeartbeat } from '../activities/mailData';
import type { CopyProgress } from '../connectors/mail/types';
import { mailboxWorkflowId } from '../shared/domain';
import type { Session } from './connection';

export async function copyProgress(session: Session, org: string, address: string): Promise<CopyProgress | null> {
  const description = await session.client.workflow
    .getHandle(mailboxWorkflowId(org, address))
    .describe()
    .catch(() => null);
  const pending = description?.raw.pendingActivities?.find((a) => a.activityType?.name === 'copyMail');
  const payloads = pending?.heartbeatDetails?.payloads;
  if (!payloads?.length) return null;
  const beat = await decodeFromPayloadsAtIndex<CopyHeartbeat>(session.client.options.loadedDataConverter, 0, payloads).catch(() => null);
  return beat?.progress ?? null;
}
