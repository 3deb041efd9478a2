/**
 * One structured log line per activity start, completion and failure, with the
 * mailbox and step on every line, whatever the activity itself logs. Inputs
 * are never logged: only the address is picked out of them.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Logger } from 'pino';

function mailboxOf(args: unknown[]): string | undefined {
  const first = args[0] as { address?: unknown } | undefined;
  return typeof first?.address === 'string' ? first.address : undefined;
}

export function activityLogging(logger: Logger): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const { activityType, attempt, workflowExecution } = ctx.info;
        const log = logger.child({
          mailbox: mailboxOf(input.args),
          step: activityType,
          attempt,
          workflowId: workflowExecution?.workflowId,
        });
        const started = Date.now();
        log.debug('activity started');
        try {
          const result = await next(input);
          log.info({ ms: Date.now() - started }, 'activity completed');
          return result;
        } catch (err) {
          const failure = err as { type?: string; message?: string; nonRetryable?: boolean };
          log.warn(
            { ms: Date.now() - started, code: failure.type, error: failure.message, retryable: !failure.nonRetryable },
            'activity failed',
          );
          throw err;
        }
      },
    },
  });
}
