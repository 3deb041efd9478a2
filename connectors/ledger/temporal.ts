/** The ledger read through the Temporal client: describe, result and visibility queries. */
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { MailferryBatch, MailferryMailbox, MailferryOrg, MailferryState, MailferryStep } from '../../shared/searchAttributes';
import { batchWorkflowId, mailboxWorkflowId, STEPS, type MailboxOutcome, type RowState, type Step } from '../../workflows/definitions';
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
    async mailboxes(org) {
      const query = `${MailferryOrg.name} = ${quote(org)} AND WorkflowType = "mailboxWorkflow"`;
      const batches = new Map<string, Set<number>>();
      for await (const wf of client.workflow.list({ query })) {
        const address = wf.typedSearchAttributes.get(MailferryMailbox);
        const batch = wf.typedSearchAttributes.get(MailferryBatch);
        if (!address) continue;
        const set = batches.get(String(address)) ?? new Set<number>();
        if (batch !== undefined) set.add(Number(batch));
        batches.set(String(address), set);
      }
      return [...batches]
        .map(([address, set]) => ({ address, batches: [...set].sort((a, b) => a - b) }))
        .sort((a, b) => a.address.localeCompare(b.address));
    },
    async deleteBatchRecords(org, batch) {
      const workflowId = batchWorkflowId(org, batch);
      let deleted = 0;
      for await (const wf of client.workflow.list({ query: `WorkflowId = ${quote(workflowId)}` })) {
        if (wf.status.name === 'RUNNING') throw new Error(`Batch ${batch} of ${org} is still running; stop it before completing the migration`);
        await client.workflowService.deleteWorkflowExecution({
          namespace: client.options.namespace,
          workflowExecution: { workflowId, runId: wf.runId },
        });
        deleted++;
      }
      return deleted;
    },
  };
}
