/**
 * One report e-mail (`<org>/batch/<n>/mail/<kind>`, or the organisation's
 * final one): sent in the background, retried through an SMTP outage for as
 * long as it lasts, so the batch that wrote the report never waits or fails
 * for it. Open while pending: `batch status` shows it so.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { PreparedMail } from './definitions';

type Activities = ReturnType<typeof createActivities>;

/** no attempt limit: an outage ends some time, and the sent mark keeps retries from sending twice */
const smtp = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

export async function reportMailWorkflow(mail: PreparedMail): Promise<{ sent: boolean }> {
  return smtp.sendReportMail(mail);
}
