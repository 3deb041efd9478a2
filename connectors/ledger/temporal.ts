/**
 * The ledger kept in Temporal itself: one open record workflow per mailbox
 * (workflows/record.ts, found by ID or by its search attributes), read with a
 * query for one mailbox and with visibility lists of open records (their memo
 * holds a summary) for many. Closed runs are never the source: retention may
 * have deleted them. A mailbox run's execution is described only to know
 * whether one is open now, or ended from outside without reporting.
 *
 * Only executions of the expected workflow type on mailferry's task queue
 * count: anyone who can start workflows can start one of another type, or on
 * a task queue their own worker serves, under a record's, a mailbox run's or
 * a batch's ID, with whatever memo, search attributes, query answers and
 * result they like. Such an execution is ignored, as if the ID were free.
 */
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { MailferryBatch, MailferryMailbox, MailferryOrg, MailferryState, MailferryStep } from '../../shared/searchAttributes';
import {
  batchWorkflowId,
  mailboxWorkflowId,
  outcomeOfRecord,
  RECORD_HANDLERS,
  RECORD_WORKFLOW_TYPE,
  emptyRecord,
  endedFromOutside,
  withOutcome,
  recordStart,
  recordWorkflowId,
  type BatchResult,
  type MailboxOutcome,
  type MailboxRecord,
  type RecordSummary,
} from '../../shared/domain';
import { mapLimit } from '../../shared/mapLimit';
import { recordVisibility } from '../../shared/recordVisibility';
import type { Ledger, LedgerEntry } from './types';

const quote = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Execution states in which a run stopped without running its own code to the end, so it reported nothing. */
const ENDED_FROM_OUTSIDE = new Set(['TERMINATED', 'TIMED_OUT', 'CANCELLED', 'CANCELED']);

/** Addresses per visibility query (`MailferryMailbox IN (…)`): short queries, few round trips. */
const IN_CHUNK = 100;

/** What the ledger needs of a mailbox run's execution. */
interface RunSeen {
  runId: string;
  /** RUNNING, COMPLETED, TERMINATED, … */
  status: string;
  step: unknown;
  batch: unknown;
}

function runOf(wf: Omit<WorkflowExecutionInfo, 'raw'>): RunSeen {
  return {
    runId: wf.runId,
    status: wf.status.name,
    step: wf.typedSearchAttributes.get(MailferryStep),
    batch: wf.typedSearchAttributes.get(MailferryBatch),
  };
}

export interface TemporalLedgerOptions {
  /** mailferry's task queue (the worker's): executions on any other queue are not mailferry's and are ignored */
  taskQueue: string;
  /** the CLI reads only; a run that ended from outside is then reported, not written to its record */
  readOnly?: boolean;
}

/** the workflow types whose executions the ledger reads, as the worker registers them (workflows/index.ts) */
const BATCH_WORKFLOW_TYPE = 'batchWorkflow';
const MAILBOX_WORKFLOW_TYPE = 'mailboxWorkflow';

export function createTemporalLedger(client: Client, options: TemporalLedgerOptions): Ledger {
  const taskQueue = () => {
    if (options.readOnly) throw new Error('This ledger is read-only: the worker writes the records');
    return options.taskQueue;
  };
  /** the clause every visibility list of mailferry's executions carries */
  const ours = (type: string) => `WorkflowType = ${quote(type)} AND TaskQueue = ${quote(options.taskQueue)}`;
  const isOurs = (run: WorkflowExecutionDescription, type: string) => run.type === type && run.taskQueue === options.taskQueue;

  /** the latest execution under `workflowId` if it is one of mailferry's of `type`; null when there is none, or another's */
  async function describeOurs(workflowId: string, type: string): Promise<WorkflowExecutionDescription | null> {
    try {
      const run = await client.workflow.getHandle(workflowId).describe();
      return isOurs(run, type) ? run : null;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  async function readRecord(org: string, address: string): Promise<MailboxRecord | null> {
    const id = recordWorkflowId(org, address);
    const run = await describeOurs(id, RECORD_WORKFLOW_TYPE);
    if (!run) return null;
    try {
      // the run described, not whatever holds the ID by the time the query lands
      return await client.workflow.getHandle(id, run.runId).query<MailboxRecord>(RECORD_HANDLERS.query);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  const describeRun = (org: string, address: string) => describeOurs(mailboxWorkflowId(org, address), MAILBOX_WORKFLOW_TYPE);

  function endedUnreported(run: RunSeen, rec: { runId: string | null } | null): boolean {
    return ENDED_FROM_OUTSIDE.has(run.status) && run.runId !== rec?.runId;
  }

  async function entryOf(
    org: string,
    address: string,
    rec: MailboxRecord | RecordSummary | null,
    run: RunSeen | null,
  ): Promise<LedgerEntry | null> {
    if (!rec && !run) return null;
    let outcome = rec ? outcomeOfRecord(rec) : null;
    if (run && endedUnreported(run, rec)) {
      // ended without reporting (Temporal CLI, Web UI, a timeout): say so, and keep it in the record
      outcome = endedFromOutside(address, run.status, { step: run.step, batch: run.batch }, outcome);
      if (!options.readOnly) await record(org, outcome, run.runId);
    }
    return {
      outcome,
      running: run?.status === 'RUNNING',
      workflowId: mailboxWorkflowId(org, address),
      batches: rec?.batches ?? [],
    };
  }

  async function record(org: string, outcome: MailboxOutcome, runId: string): Promise<void> {
    const address = outcome.address.toLowerCase();
    // a record this starts is listed with its outcome at once, before a worker runs it (the workflow upserts the same)
    const now = new Date().toISOString();
    const { memo, searchAttributes } = recordVisibility(withOutcome(emptyRecord(org, address, now), outcome, runId, now));
    await client.workflow.signalWithStart(RECORD_WORKFLOW_TYPE, {
      workflowId: recordWorkflowId(org, address),
      taskQueue: taskQueue(),
      args: [recordStart(org, address)],
      signal: RECORD_HANDLERS.outcome,
      signalArgs: [{ outcome, runId }],
      typedSearchAttributes: searchAttributes,
      memo,
    });
  }

  async function openRecords(query: string): Promise<RecordSummary[]> {
    const out: RecordSummary[] = [];
    const full = `${ours(RECORD_WORKFLOW_TYPE)} AND ExecutionStatus = "Running" AND ${query}`;
    for await (const wf of client.workflow.list({ query: full, pageSize: 1000 })) {
      const summary = wf.memo?.record as RecordSummary | undefined;
      if (summary) out.push(summary);
    }
    return out;
  }

  return {
    async lookup(org, address): Promise<LedgerEntry | null> {
      const [rec, run] = await Promise.all([readRecord(org, address), describeRun(org, address)]);
      return entryOf(org, address, rec, run && runOf(run));
    },

    async lookupMany(org, addresses): Promise<Map<string, LedgerEntry | null>> {
      const wanted = [...new Set(addresses.map((a) => a.toLowerCase()))];
      const chunks = Array.from({ length: Math.ceil(wanted.length / IN_CHUNK) }, (_, i) => wanted.slice(i * IN_CHUNK, (i + 1) * IN_CHUNK));
      const records = new Map<string, RecordSummary>();
      const runs = new Map<string, RunSeen & { startTime: Date }>();
      await mapLimit(chunks, 4, async (chunk) => {
        const [recs] = await Promise.all([
          openRecords(`${MailferryOrg.name} = ${quote(org)} AND ${MailferryMailbox.name} IN (${chunk.map(quote).join(', ')})`),
          // every run still kept of these mailboxes (a few per mailbox, one per batch that ran it): the newest one counts, as describe() would say
          (async () => {
            const ids = chunk.map((a) => quote(mailboxWorkflowId(org, a))).join(', ');
            for await (const wf of client.workflow.list({ query: `WorkflowId IN (${ids}) AND ${ours(MAILBOX_WORKFLOW_TYPE)}`, pageSize: 1000 })) {
              const seen = runs.get(wf.workflowId);
              if (!seen || wf.startTime > seen.startTime) runs.set(wf.workflowId, { ...runOf(wf), startTime: wf.startTime });
            }
          })(),
        ]);
        for (const r of recs) records.set(r.address, r);
      });
      const out = new Map<string, LedgerEntry | null>();
      await mapLimit(wanted, 16, async (address) => {
        const run = runs.get(mailboxWorkflowId(org, address)) ?? null;
        // the summary lacks the password and checkpoint an outcome written back must keep: read the whole record then
        const rec =
          run && endedUnreported(run, records.get(address) ?? null) ? await readRecord(org, address) : (records.get(address) ?? null);
        out.set(address, await entryOf(org, address, rec, run));
      });
      return out;
    },

    recordOf: readRecord,

    record,

    async rememberPreviousTargetAddress(org, address, value) {
      const a = address.toLowerCase();
      // a record this starts is listed at once with what the update makes of it (the workflow then writes nothing)
      const { memo, searchAttributes } = recordVisibility({ ...emptyRecord(org, a, new Date().toISOString()), previousTargetAddress: value });
      const start = new WithStartWorkflowOperation(RECORD_WORKFLOW_TYPE, {
        workflowId: recordWorkflowId(org, a),
        taskQueue: taskQueue(),
        args: [recordStart(org, a)],
        workflowIdConflictPolicy: 'USE_EXISTING',
        typedSearchAttributes: searchAttributes,
        memo,
      });
      return client.workflow.executeUpdateWithStart<Workflow, string | null, [{ address: string; value: string | null }]>(
        RECORD_HANDLERS.rememberPrevious,
        {
          args: [{ address: a, value }],
          startWorkflowOperation: start,
        },
      );
    },

    async addressesOfBatch(org, batch, states, opts) {
      const stateClause = states.map((s) => `${MailferryState.name} = ${quote(s)}`).join(' OR ');
      const query = opts?.laterRuns
        ? `${MailferryOrg.name} = ${quote(org)}`
        : `${MailferryOrg.name} = ${quote(org)} AND ${MailferryBatch.name} = ${batch} AND (${stateClause})`;
      return (await openRecords(query))
        .filter((r) =>
          opts?.laterRuns
            ? r.batches.includes(batch) && r.outcome !== null && states.includes(r.outcome.state)
            : r.outcome?.batch === batch && states.includes(r.outcome.state),
        )
        .map((r) => r.address)
        .sort();
    },

    async mailboxes(org) {
      return (await openRecords(`${MailferryOrg.name} = ${quote(org)}`)).sort((a, b) => a.address.localeCompare(b.address));
    },

    async deleteBatchRecords(org, batch) {
      const workflowId = batchWorkflowId(org, batch);
      let deleted = 0;
      for await (const wf of client.workflow.list({ query: `WorkflowId = ${quote(workflowId)} AND ${ours(BATCH_WORKFLOW_TYPE)}` })) {
        if (wf.status.name === 'RUNNING')
          throw new Error(`Batch ${batch} of ${org} is still running; stop it before completing the migration`);
        await client.workflowService.deleteWorkflowExecution({
          namespace: client.options.namespace,
          workflowExecution: { workflowId, runId: wf.runId },
        });
        deleted++;
      }
      return deleted;
    },

    async batchExecution(org, batch) {
      const id = batchWorkflowId(org, batch);
      // an execution of another type or queue under the batch's ID says nothing of the batch (its result would be anyone's)
      const run = await describeOurs(id, BATCH_WORKFLOW_TYPE);
      if (!run) return { status: 'NOT_FOUND' };
      const status = run.status.name;
      return status === 'COMPLETED'
        ? { status, result: (await client.workflow.getHandle(id, run.runId).result()) as BatchResult }
        : { status };
    },

    async closeRecords(org, beat = () => undefined) {
      const open = await openRecords(`${MailferryOrg.name} = ${quote(org)}`);
      await mapLimit(open, 16, async (r) => {
        beat();
        await client.workflow
          .getHandle(recordWorkflowId(org, r.address))
          .signal(RECORD_HANDLERS.close, { by: `Complete Migration of ${org}`, address: r.address });
      });
      return open.length;
    },
  };
}
