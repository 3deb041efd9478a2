/**
 * What activities and connectors open sealed values with: the secret box,
 * bound to the organisation of the workflow run the current activity serves,
 * as the Temporal server names it (its workflow ID). A sealed value copied
 * from another organisation's history into this run's input does not open.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { orgOfWorkflowId, SealedSecretError, type OrgSecrets, type SecretBox } from '../shared/secrets';

function currentOrg(): string {
  const workflowId = Context.current().info.workflowExecution?.workflowId;
  if (!workflowId) throw new Error('A sealed value can only be opened inside an activity of a mailferry workflow run.');
  return orgOfWorkflowId(workflowId);
}

/** a value that does not open now never will: fail at once with its code, no retries */
function permanent<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SealedSecretError) throw ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: true });
    throw err;
  }
}

export function runSecrets(box: SecretBox): OrgSecrets {
  return {
    seal: (plaintext) => permanent(() => box.seal(currentOrg(), plaintext)),
    unseal: (sealed) => permanent(() => box.unseal(currentOrg(), sealed)),
  };
}
