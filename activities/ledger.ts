/**
 * The mailbox record's writes and the batch's real state, for workflows:
 * a run hands its outcome to the record of its mailbox, and the organisation
 * asks the server how a batch's execution really stands before it frees the
 * active-batch slot.
 */
import { Context } from '@temporalio/activity';
import type { BatchExecution } from '../connectors/ledger/types';
import type { MailboxOutcome } from '../shared/domain';
import type { ActivityDeps } from './deps';
import { translated } from './failures';

export function createLedgerActivities({ connectors }: ActivityDeps) {
  const { ledger } = connectors;
  return {
    async recordOutcome(input: { org: string; outcome: MailboxOutcome; runId: string }): Promise<void> {
      return translated(() => ledger.record(input.org, input.outcome, input.runId));
    },

    /**
     * How the batch's execution stands. A batch signals that it ended just
     * before it closes, so a batch still running is asked again for up to
     * `settleSeconds` before the answer stands.
     */
    async batchExecution(input: { org: string; batch: number; settleSeconds: number }): Promise<BatchExecution> {
      const ctx = Context.current();
      const deadline = Date.now() + input.settleSeconds * 1000;
      for (;;) {
        const found = await translated(() => ledger.batchExecution(input.org, input.batch));
        if (found.status !== 'RUNNING' || Date.now() >= deadline) return found;
        ctx.heartbeat();
        await ctx.sleep(1000);
      }
    },
  };
}
