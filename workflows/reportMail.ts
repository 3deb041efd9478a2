/**
 * One report e-mail (`<org>/batch/<n>/mail/<kind>`, or the organisation's
 * final one): sent in the background, retried through an SMTP outage for as
 * long as it lasts, so the batch that wrote the report never waits or fails
 * for it. Open while pending: `batch status` shows it so.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import {
  batchWorkflowId,
  finalMailWorkflowId,
  organisationWorkflowId,
  reportMailWorkflowId,
  type PreparedMail,
  type ReportKind,
} from './definitions';
import { requireIdentity } from './identity';

type Activities = ReturnType<typeof createActivities>;

/** no attempt limit: an outage ends some time, and the sent mark keeps retries from sending twice */
const smtp = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** a batch's report e-mail, `<org>/batch/<n>/mail/<kind>`; anything else must be the organisation's final one */
const BATCH_MAIL = /\/batch\/(\d+)\/mail\/(mailboxesReady|migrationComplete|stopped)$/;

export async function reportMailWorkflow(mail: PreparedMail): Promise<{ sent: boolean }> {
  const ofBatch = BATCH_MAIL.exec(workflowInfo().workflowId);
  requireIdentity(
    ofBatch
      ? {
          workflowId: reportMailWorkflowId(mail.org, Number(ofBatch[1]), ofBatch[2] as ReportKind),
          parent: batchWorkflowId(mail.org, Number(ofBatch[1])),
        }
      : { workflowId: finalMailWorkflowId(mail.org), parent: organisationWorkflowId(mail.org) },
  );
  return smtp.sendReportMail(mail);
}
