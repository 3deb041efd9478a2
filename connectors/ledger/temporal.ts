/** The ledger read through the Temporal client: describe, result and visibility queries. */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { MailferryBatch, MailferryMailbox, MailferryOrg, MailferryState, MailferryStep } from '../../shared/searchAttributes';
import { mailboxWorkflowId, STEPS, type MailboxOutcome, type RowState, type Step } from '../../workflows/definitions';
import type { Ledger, LedgerEntry } from './types';

const quote = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function createTemporalLedger(client: Client): Ledger {
  async function lookup(org: string, address: string): Promise<LedgerEntry | null> {
    const handle = client.workflow.getHandle(mailboxWorkflowId(org, address));
    let description;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
    const base = { workflowId: description.workflowId, runId: description.runId };
    switch (description.status.name) {
      case 'RUNNING':
        return { ...base, outcome: null, running: true };
      case 'COMPLETED':
        return { ...base, outcome: (await handle.result()) as MailboxOutcome, running: false };
      case 'FAILED':
        try {
          await handle.result();
        } catch (err) {
          const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
          const outcome = cause instanceof ApplicationFailure ? (cause.details?.[0] as MailboxOutcome | undefined) : undefined;
          if (outcome) return { ...base, outcome, running: false };
        }
        break;
      default:
        break;
    }
    // Terminated, timed out or cancelled from outside: the search attributes still say where it was.
    const step = description.typedSearchAttributes.get(MailferryStep) as Step | undefined;
    const batch = description.typedSearchAttributes.get(MailferryBatch) ?? 0;
    const failedStep = step && (STEPS as readonly string[]).includes(step) ? step : 'verifyMeu';
    const outcome: MailboxOutcome = {
      address,
      batch: Number(batch),
      state: 'failed',
      lastCompletedStep: STEPS.indexOf(failedStep) > 0 ? STEPS[STEPS.indexOf(failedStep) - 1] : null,
      failedStep,
      error: {
        code: description.status.name,
        message: `The run ended as ${description.status.name.toLowerCase()}`,
        fix: 'Resume the row.',
      },
      forceChangePassword: false,
    };
    return { ...base, outcome, running: false };
  }

  return {
    lookup,
    async addressesOfBatch(org, batch, states, options) {
      const stateClause = states.map((s) => `${MailferryState.name} = ${quote(s)}`).join(' OR ');
      const query = `${MailferryOrg.name} = ${quote(org)} AND ${MailferryBatch.name} = ${batch} AND WorkflowType = "mailboxWorkflow" AND (${stateClause})`;
      const found = new Set<string>();
      for await (const wf of client.workflow.list({ query })) {
        const address = wf.typedSearchAttributes.get(MailferryMailbox);
        if (address) found.add(String(address));
      }
      // The latest run decides: a row failed in batch 3 but completed since is not "failed".
      const latest: string[] = [];
      for (const address of found) {
        const entry = await lookup(org, address);
        if (entry?.outcome && (options?.laterRuns || entry.outcome.batch === batch) && states.includes(entry.outcome.state as RowState))
          latest.push(address);
      }
      return latest;
    },
  };
}
