/**
 * Convert to MEU (seed step 5, automated): every migrated on-premises mailbox
 * of a batch (or the ones named) becomes a mail-enabled user that keeps the
 * cloud mailbox's proxy addresses, and its old and the cloud mailbox's
 * legacy DN as X500 addresses. Mailboxes whose data copy is not complete are
 * refused, not converted; converting twice changes nothing the second time.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { MailferryOrg, MailferryState } from '../shared/searchAttributes';
import { convertWorkflowId, organisationWorkflowId, type ConnectionSettings } from './definitions';
import { requireIdentity } from './identity';

type Activities = ReturnType<typeof createActivities>;

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

export interface ConvertInput {
  org: string;
  settings: ConnectionSettings;
  mailboxes?: string[];
  batch?: number;
}

export interface ConvertResult {
  converted: string[];
  unchanged: string[];
  refused: { address: string; reason: string }[];
  failed: { address: string; code: string; message: string }[];
}

/** a handful at once: directory writes are quick, and the on-premises server is in production */
const WINDOW = 4;

export async function convertWorkflow(input: ConvertInput): Promise<ConvertResult> {
  requireIdentity({
    workflowId: convertWorkflowId(input.org, Number(/\/convert\/(\d+)$/.exec(workflowInfo().workflowId)?.[1])),
    parent: organisationWorkflowId(input.org),
  });
  upsertSearchAttributes([
    { key: MailferryOrg, value: input.org },
    { key: MailferryState, value: 'converting' },
  ]);
  const plan = await acts.planConversion({ org: input.org, mailboxes: input.mailboxes, batch: input.batch });
  const result: ConvertResult = { converted: [], unchanged: [], refused: plan.refused, failed: [] };
  const queue = [...plan.eligible];
  const lane = async () => {
    for (let address = queue.shift(); address !== undefined; address = queue.shift()) {
      try {
        const change = await acts.convertToMailUser({ settings: input.settings, address });
        (change.changed ? result.converted : result.unchanged).push(address);
      } catch (err) {
        const cause = err instanceof ActivityFailure ? err.cause : err;
        const code = cause instanceof ApplicationFailure ? (cause.type ?? 'UNKNOWN') : 'UNKNOWN';
        result.failed.push({ address, code, message: cause instanceof Error ? cause.message : String(cause) });
      }
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  for (const list of [result.converted, result.unchanged]) list.sort();
  upsertSearchAttributes([{ key: MailferryState, value: result.failed.length ? 'failed' : 'completed' }]);
  return result;
}
