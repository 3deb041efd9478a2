/**
 * What activities and connectors open sealed values with: the secret box,
 * bound to the organisation of the workflow run the current activity serves,
 * as the Temporal server names it (its workflow ID). A sealed value copied
 * from another organisation's history into this run's input does not open.
 */
import { Context } from '@temporalio/activity';
import { orgOfWorkflowId, type OrgSecrets, type SecretBox } from '../shared/secrets';

function currentOrg(): string {
  const workflowId = Context.current().info.workflowExecution?.workflowId;
  if (!workflowId) throw new Error('A sealed value can only be opened inside an activity of a mailferry workflow run.');
  return orgOfWorkflowId(workflowId);
}

export function runSecrets(box: SecretBox): OrgSecrets {
  return {
    seal: (plaintext) => box.seal(currentOrg(), plaintext),
    unseal: (sealed) => box.unseal(currentOrg(), sealed),
  };
}
