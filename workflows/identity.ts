/**
 * Who a run is, as the Temporal server says it: its workflow ID, its parent
 * and whether it continued from an earlier run. Anyone who can start
 * workflows in the namespace can also replay an encrypted input copied out of
 * history, and the payload gate lets it through (it is mailferry's
 * ciphertext). So every workflow checks, before it acts, that its input names
 * the organisation (and batch, mailbox) its workflow ID names, that a child
 * was started by the parent it belongs to (a client cannot set a parent), and
 * that state carried over continue-as-new arrived that way. A mismatch fails
 * the run at once, non-retryably, and nothing is done.
 */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';

export const IDENTITY_REFUSED = 'IDENTITY_REFUSED';

function refuse(why: string): never {
  throw ApplicationFailure.create({
    type: IDENTITY_REFUSED,
    message:
      `Refused this run of ${workflowInfo().workflowType} (${workflowInfo().workflowId}): ${why}. Nothing was done. ` +
      'mailferry starts its workflows itself from the CLI; an input copied from another run is not accepted.',
    nonRetryable: true,
  });
}

export interface ExpectedIdentity {
  /** the workflow ID the input implies */
  workflowId: string;
  /** the workflow ID of the parent that starts this kind of run; undefined: started by a client (organisation, record) */
  parent?: string;
  /** the run carries state from an earlier run, which only continue-as-new hands over */
  carried?: boolean;
}

export function requireIdentity(expected: ExpectedIdentity): void {
  const info = workflowInfo();
  if (info.workflowId !== expected.workflowId) {
    refuse(`its input belongs to ${JSON.stringify(expected.workflowId)}, not to this workflow ID`);
  }
  if (expected.parent !== undefined && info.parent?.workflowId !== expected.parent) {
    refuse(
      `it must be started by ${JSON.stringify(expected.parent)}, but ` +
        (info.parent ? `was started by ${JSON.stringify(info.parent.workflowId)}` : 'was started from outside any workflow'),
    );
  }
  if (expected.carried && !info.continuedFromExecutionRunId) {
    refuse('its input carries the state of an earlier run, which only that run itself hands over (continue-as-new)');
  }
}
