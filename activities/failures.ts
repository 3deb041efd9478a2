/**
 * How a connector error becomes a Temporal failure: a MailferryError keeps its
 * code as the failure type (what the Web UI and reports show) and is
 * non-retryable when retrying cannot heal it. Anything else is left for the
 * retry policy.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MailferryError } from '../shared/errors';

export function asFailure(err: unknown, details?: unknown): unknown {
  if (err instanceof MailferryError) {
    return ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: err.permanent, details: details === undefined ? undefined : [details] });
  }
  // what a failed copy had done travels with its failure, so the row's record keeps it; the retry policy still applies
  if (details !== undefined && err instanceof Error && !(err instanceof ApplicationFailure) && err.name !== 'AbortError' && err.name !== 'CancelledFailure') {
    return ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: false, details: [details], cause: err });
  }
  return err;
}

/** Runs `fn`, translating errors; always runs `cleanup`. */
export async function translated<T>(fn: () => Promise<T>, cleanup?: () => Promise<void>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asFailure(err);
  } finally {
    await cleanup?.().catch(() => undefined);
  }
}
