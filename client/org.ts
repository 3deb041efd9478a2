/** The organisation workflow as the CLI sees it: state, updates, and refusals turned into exit codes. */
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { organisationWorkflow } from '../workflows/organisation';
import {
  organisationStateQuery,
  organisationWorkflowId,
  ORG_NAME_PATTERN,
  TASK_QUEUE,
  type OrganisationState,
} from '../workflows/definitions';
import { CliError, EXIT } from './errors';

export function checkOrgName(org: string): string {
  if (!ORG_NAME_PATTERN.test(org)) {
    throw new CliError(
      `Organisation name ${JSON.stringify(org)} is not valid: use lower-case letters, digits and dashes (it names workflows and report folders)`,
      EXIT.BAD_INPUT,
    );
  }
  return org;
}

export async function orgState(client: Client, org: string): Promise<OrganisationState> {
  try {
    return await client.workflow.getHandle(organisationWorkflowId(org)).query(organisationStateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new CliError(`No organisation "${org}" yet: create it with \`mailferry settings set\``, EXIT.NOT_FOUND);
    }
    throw err;
  }
}

/** The organisation's handle, starting its workflow if this is the first command for it. */
export function startOrgOperation(org: string, taskQueue: string = TASK_QUEUE) {
  return new WithStartWorkflowOperation(organisationWorkflow, {
    workflowId: organisationWorkflowId(org),
    taskQueue,
    args: [{ org }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    // a run that ended by Complete Migration is never started again; a failed or terminated one may be
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    memo: { summary: `mailferry organisation ${org}` },
  });
}

/** A refused or failed update becomes the CLI's REFUSED exit with the workflow's own words. */
export async function refusedAsCliError<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause as Error | undefined;
      const inner = (cause as { cause?: Error } | undefined)?.cause;
      throw new CliError(inner?.message ?? cause?.message ?? err.message, EXIT.REFUSED);
    }
    if (err instanceof WorkflowNotFoundError) throw new CliError(err.message, EXIT.NOT_FOUND);
    throw err;
  }
}
