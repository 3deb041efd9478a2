/**
 * Workflow interceptors (loaded into the workflow sandbox through the
 * worker's `interceptors.workflowModules`): a start, signal or update whose
 * arguments the worker's codec could not authenticate (codec.ts) is refused
 * before any workflow code sees it.
 *
 * - start: the run fails at once, non-retryably (PAYLOAD_REFUSED);
 * - update: rejected by the validator step where the handler has one (nothing
 *   reaches history), otherwise failed before the handler runs;
 * - signal: dropped with a warning (a signal has nobody to answer, and failing
 *   the run would let anyone who can signal end an organisation's workflow).
 *
 * Results of mailferry's own activities and children are never forged this
 * way; a marker there means this worker lacks a key its peers used, so the
 * workflow task fails and retries until the key is given (docs/production.md).
 */
import { ApplicationFailure, log, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { PAYLOAD_REFUSED, refusalMessage, refusalOf, refusedArgs } from './refused';

const refuse = (what: string, args: readonly unknown[]) => {
  const reason = refusedArgs(args);
  if (reason) throw ApplicationFailure.create({ type: PAYLOAD_REFUSED, message: refusalMessage(what, reason), nonRetryable: true });
};

const unreadable = (what: string, value: unknown) => {
  const reason = refusalOf(value);
  // a plain Error fails the workflow task, which Temporal retries: the run waits for the missing key instead of misreading
  if (reason) throw new Error(`The ${what} could not be read (${reason}); give this worker every key in MAILFERRY_CODEC_PREVIOUS_KEYS.`);
  return value;
};

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      // async: a throw must reject the promise (the run fails), not escape the activation (the task would retry forever)
      async execute(input, next) {
        refuse('this workflow start', input.args);
        return next(input);
      },
      validateUpdate(input, next) {
        refuse(`the update "${input.name}"`, input.args);
        next(input);
      },
      async handleUpdate(input, next) {
        refuse(`the update "${input.name}"`, input.args);
        return next(input);
      },
      async handleSignal(input, next) {
        const reason = refusedArgs(input.args);
        if (reason) {
          log.warn(refusalMessage(`the signal "${input.signalName}"`, reason), { code: PAYLOAD_REFUSED });
          return;
        }
        return next(input);
      },
    },
  ],
  outbound: [
    {
      async scheduleActivity(input, next) {
        return unreadable(`result of activity ${input.activityType}`, await next(input));
      },
      async startChildWorkflowExecution(input, next) {
        const [started, completed] = await next(input);
        const checked = completed.then((result) => unreadable(`result of child workflow ${input.workflowType}`, result));
        // as the SDK does for its own promise: a child whose result nobody awaits (a terminated batch) must not fail the workflow task
        checked.catch(() => undefined);
        return [started, checked];
      },
    },
  ],
});
