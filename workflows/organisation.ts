/**
 * The organisation: one source → target migration. Keeps the tested
 * connection settings across batches, allows one active batch at a time,
 * starts batches and keeps their history. It stays small on purpose: each
 * mailbox's record workflow (record.ts) holds that mailbox's ledger, so this
 * state does not grow with the number of mailboxes. Long-lived: continues-as-new
 * when the server suggests it.
 *
 * The active-batch slot follows the batch's real execution, never a signal's
 * word: a batch's "finished" signal, a new start and Complete Migration each
 * ask the server how the active batch stands, so a batch that failed to
 * start, failed, or was terminated from outside frees the slot, and a stray
 * or forged signal frees nothing.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { MailferryBatch, MailferryMailbox, MailferryOrg, MailferryState, MailferryStep } from '../shared/searchAttributes';
import { adminTarget } from '../shared/adminPath';
import { requireAdmin, requireToken } from './adminPath';
import { batchWorkflow } from './batch';
import { convertWorkflow } from './convert';
import { requireIdentity } from './identity';
import { mailboxWorkflow } from './mailbox';
import { reportMailWorkflow } from './reportMail';
import {
  batchFinishedSignal,
  batchWorkflowId,
  finalMailWorkflowId,
  completeMigrationUpdate,
  convertToMeuUpdate,
  convertWorkflowId,
  mailboxWorkflowId,
  organisationStateQuery,
  organisationWorkflowId,
  rollbackMailboxUpdate,
  setSettingsUpdate,
  startBatchUpdate,
  withCopyRules,
  type BatchSource,
  type CompleteMigrationResult,
  type ConnectionSettings,
  type OrganisationInput,
  type OrganisationState,
  type StartBatchRequest,
} from './definitions';

type Activities = ReturnType<typeof createActivities>;

/** Complete Migration reads every mailbox's ledger entry: minutes at 50,000 mailboxes, heartbeating. */
const finish = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** The batch's real state: a few quick server calls, or up to the settle time while a batch closes. */
const check = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 10 },
});

/** A batch's "finished" signal comes just before it closes: how long its real state may take to agree. */
const SETTLE_SECONDS = 20;

/** A connection test answers quickly or not at all: do not retry a wrong password for minutes. */
const probe = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 2 },
});

export function checkSettingsShape(settings: ConnectionSettings): void {
  const n = settings.maxConcurrentMailboxes;
  if (!Number.isInteger(n) || n < 1 || n > 10) {
    throw new Error(`maxConcurrentMailboxes must be a whole number from 1 to 10 (got ${n})`);
  }
  if (settings.mode === 'manual' && !settings.exchangeServer) {
    throw new Error('Manual connection settings need the Exchange server FQDN');
  }
}

function sourceLabel(source: BatchSource): string {
  if (source.kind === 'csv') return source.fileName;
  return source.kind === 'sync' ? `sync of batch ${source.batch}` : 'resume';
}

function refuseBatch(state: OrganisationState): string | null {
  if (state.completed) return `The migration of ${state.org} is complete; no more batches can start`;
  if (state.completing) return `Complete Migration of ${state.org} is running; no more batches can start`;
  if (!state.settings) return 'No connection settings yet: run `mailferry settings set` first';
  // the active batch is refused by the handler, after it checked the batch's real state
  return null;
}

export async function organisationWorkflow(input: OrganisationInput): Promise<void> {
  requireIdentity({ workflowId: organisationWorkflowId(input.org), carried: input.carried !== undefined });
  const state: OrganisationState = input.carried ?? {
    org: input.org,
    settings: null,
    settingsTestedAt: null,
    nextBatch: 1,
    activeBatch: null,
    batches: [],
    completed: false,
  };

  setHandler(organisationStateQuery, () => state);
  /** batches whose "finished" signal came in: each is checked against the server before the slot is freed */
  const checks: number[] = [];

  /** Frees the slot when the active batch `batch` is really over; records what the check found either way. */
  async function reconcile(batch: number, settleSeconds: number): Promise<void> {
    if (state.activeBatch !== batch) return;
    const found = await check.batchExecution({ org: state.org, batch, settleSeconds });
    const running = found.status === 'RUNNING';
    state.lastReconcile = {
      batch,
      at: new Date().toISOString(),
      status: found.status,
      freed: !running && state.activeBatch === batch,
      why: running
        ? `batch ${batch} is still running: a "finished" signal or a new request does not free its slot`
        : `batch ${batch} ended as ${found.status}`,
    };
    if (running || state.activeBatch !== batch) return;
    state.activeBatch = null;
    const entry = state.batches.find((b) => b.batch === batch);
    if (entry) {
      entry.finished = true;
      entry.endedAs = found.status;
      if (found.result) entry.result = found.result;
    }
  }
  const activeBatchRefusal = async (): Promise<string | null> => {
    if (state.activeBatch !== null) await reconcile(state.activeBatch, 0);
    return state.activeBatch === null
      ? null
      : `Batch ${state.activeBatch} is still active: only one batch runs at a time. Wait for it or stop it with \`mailferry batch stop\``;
  };
  const refusal = (why: string | null) => {
    if (why) throw ApplicationFailure.nonRetryable(why, 'REFUSED');
  };
  const admin = (...[operation, target, token]: Parameters<typeof requireAdmin>) =>
    requireAdmin(operation, target, token, (state.adminNonces ??= []));
  const needSettings = (): ConnectionSettings => {
    if (state.completed || state.completing) refusal(`The migration of ${state.org} is complete`);
    if (!state.settings) refusal('No connection settings yet: run `mailferry settings set` first');
    return state.settings as ConnectionSettings;
  };

  setHandler(
    convertToMeuUpdate,
    async (request) => {
      await admin('convertToMeu', adminTarget.convertToMeu(request), request.token);
      const settings = needSettings();
      const n = (state.nextOperation = (state.nextOperation ?? 1) + 1) - 1;
      const workflowId = convertWorkflowId(state.org, n);
      await startChild(convertWorkflow, {
        workflowId,
        args: [{ org: state.org, settings, mailboxes: request.mailboxes, batch: request.batch }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        memo: { summary: `convert to mail users, requested by ${request.by}` },
      });
      return { workflowId };
    },
    {
      validator: (request) => {
        requireToken(request);
        if (!request.mailboxes?.length && request.batch === undefined) throw new Error('Name the mailboxes or the batch to convert');
      },
    },
  );

  setHandler(rollbackMailboxUpdate, async (request) => {
    await admin('rollback', adminTarget.rollback(request), request.token);
    const settings = needSettings();
    const address = request.address.toLowerCase();
    const { outcome, running } = await probe.ledgerEntry({ org: state.org, address });
    if (running) refusal(`A run of ${address} is still open: wait for its batch or stop it first`);
    if (!outcome) refusal(`${address} has never been migrated in ${state.org}: nothing to roll back`);
    const o = outcome!;
    if (o.state !== 'completed')
      refusal(`${address} is ${o.state}, not migrated: only a mailbox whose copy completed is rolled back (resume it or leave it)`);
    const workflowId = mailboxWorkflowId(state.org, address);
    await startChild(mailboxWorkflow, {
      workflowId,
      args: [
        {
          org: state.org,
          batch: o.batch,
          line: 0,
          address,
          password: o.password,
          forceChangePassword: o.forceChangePassword,
          phase: 'rollback',
          startAt: 'setTargetAddress',
          previous: { copy: o.copy, previousTargetAddress: o.previousTargetAddress },
          settings,
        },
      ],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: MailferryOrg, value: state.org },
        { key: MailferryBatch, value: o.batch },
        { key: MailferryMailbox, value: address },
        { key: MailferryStep, value: 'rollback' },
        { key: MailferryState, value: 'provisioning' },
      ],
      memo: { summary: `rollback of ${address}, requested by ${request.by}` },
    });
    return { workflowId };
  });

  setHandler(
    completeMigrationUpdate,
    async (request) => {
      await admin('completeMigration', adminTarget.completeMigration(), request.token);
      const settings = needSettings();
      const busy = await activeBatchRefusal();
      if (busy) refusal(`${busy.split(':')[0]}: wait for it (\`mailferry batch wait\`) or stop it before completing the migration`);
      state.completing = true;
      try {
        return await completeMigration(state, settings, request.by);
      } finally {
        // done, or failed part-way: either way a new attempt may run (each step skips what is done)
        state.completing = false;
      }
    },
    {
      validator: (request) => {
        requireToken(request);
        if (state.completed) throw new Error(`The migration of ${state.org} is already complete`);
        if (state.completing) throw new Error(`The migration of ${state.org} is being completed`);
      },
    },
  );

  setHandler(
    setSettingsUpdate,
    async (settings) => {
      const { serverVersion } = await probe.testConnection({ settings });
      const testedAt = new Date().toISOString();
      state.settings = settings;
      state.settingsTestedAt = testedAt;
      return { testedAt, serverVersion };
    },
    { validator: checkSettingsShape },
  );

  setHandler(
    startBatchUpdate,
    async (request: StartBatchRequest) => {
      // Re-checked here: two updates may both pass the validator before either runs.
      const refusal = refuseBatch(state) ?? (await activeBatchRefusal());
      if (refusal || !state.settings) throw ApplicationFailure.nonRetryable(refusal ?? 'No settings', 'BATCH_REFUSED');
      const batch = state.nextBatch++;
      const workflowId = batchWorkflowId(state.org, batch);
      const startedAt = new Date().toISOString();
      state.activeBatch = batch;
      state.batches.push({
        batch,
        workflowId,
        startedAt,
        startedBy: request.startedBy,
        source: sourceLabel(request.source),
        finished: false,
      });
      const started = startChild(batchWorkflow, {
        workflowId,
        args: [
          {
            org: state.org,
            batch,
            startedBy: request.startedBy,
            startedAt,
            notify: request.notify,
            // the batch's own copy rules on top of the organisation's, for every row of this batch
            settings: withCopyRules(state.settings, request.copyRules),
            source: request.source,
            rowsPerRun: request.rowsPerRun,
            startAfter: request.startAfter,
            completeAfter: request.completeAfter,
            adaptive: request.adaptive,
          },
        ],
        // The batch outlives an organisation run that continues-as-new; it reports back by signal.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: MailferryOrg, value: state.org },
          { key: MailferryBatch, value: batch },
          { key: MailferryState, value: 'validating' },
        ],
        memo: { summary: `batch ${batch} of ${state.org}, started by ${request.startedBy}` },
      });
      try {
        await started;
      } catch (err) {
        // a batch that never started holds no slot
        state.activeBatch = null;
        const entry = state.batches.find((b) => b.batch === batch)!;
        entry.finished = true;
        entry.endedAs = 'NOT_STARTED';
        throw ApplicationFailure.nonRetryable(
          `Batch ${batch} could not start: ${err instanceof Error ? err.message : String(err)}`,
          'BATCH_NOT_STARTED',
        );
      }
      return { batch, workflowId };
    },
    {
      validator: (request: StartBatchRequest) => {
        const refusal = refuseBatch(state);
        if (refusal) throw new Error(refusal);
        if (request.rowsPerRun !== undefined && (!Number.isInteger(request.rowsPerRun) || request.rowsPerRun < 1))
          throw new Error(`rowsPerRun must be a whole number ≥ 1 (got ${request.rowsPerRun})`);
        if (request.adaptive && !(request.adaptive.quietSeconds >= 1))
          throw new Error(`adaptive.quietSeconds must be at least 1 (got ${request.adaptive.quietSeconds})`);
        if (request.completeAfter !== undefined && Number.isNaN(Date.parse(request.completeAfter)))
          throw new Error(`completeAfter must be an ISO date and time (got ${JSON.stringify(request.completeAfter)})`);
        if (request.startAfter !== undefined && Number.isNaN(Date.parse(request.startAfter)))
          throw new Error(`startAfter must be an ISO date and time (got ${JSON.stringify(request.startAfter)})`);
      },
    },
  );

  // whoever sent it, the signal only asks for a check of the batch's real state
  setHandler(batchFinishedSignal, (result) => {
    if (state.activeBatch === result.batch && !checks.includes(result.batch)) checks.push(result.batch);
  });

  for (;;) {
    await condition(() => checks.length > 0 || ((state.completed || workflowInfo().continueAsNewSuggested) && allHandlersFinished()));
    const batch = checks.shift();
    if (batch === undefined) break;
    await reconcile(batch, SETTLE_SECONDS);
  }
  if (!state.completed) {
    await continueAsNew<typeof organisationWorkflow>({ org: input.org, carried: state });
  }
}

/**
 * Complete Migration, in an order that is safe to repeat: the final report
 * (kept in the state once written, so a re-run after a crash reports the same
 * mailboxes), the final e-mail (sent once: the state remembers it), and only
 * then the clean-up.
 */
async function completeMigration(state: OrganisationState, settings: ConnectionSettings, by: string): Promise<CompleteMigrationResult> {
  const batches = state.batches.map((b) => b.batch);
  const report = (state.finalReport ??= await finish.writeFinalReport({ org: state.org, settings, by, batches }));
  // kept in the state once sent: a second attempt (after a failed clean-up) must not start the e-mail's workflow again
  if (!state.finalMailSent) {
    await executeChild(reportMailWorkflow, {
      workflowId: finalMailWorkflowId(state.org),
      args: [report.mail],
      memo: { summary: `final e-mail of ${state.org}` },
    });
    state.finalMailSent = true;
  }
  const cleaned = await finish.cleanUpMigration({ org: state.org, batches });
  state.completed = true;
  return {
    notMigrated: report.notMigrated,
    mailboxes: report.mailboxes,
    batchRecordsDeleted: cleaned.batchRecordsDeleted,
    reports: report.reports,
  };
}
