/** An activity whose input the worker's codec could not authenticate (codec.ts) fails at once, non-retryably. */
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { PAYLOAD_REFUSED, refusalMessage, refusedArgs } from './refused';

export const refuseUnauthenticatedActivityInput: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const reason = input.args.length === 0 ? undefined : refusedArgs(input.args);
      if (reason) {
        throw ApplicationFailure.create({
          type: PAYLOAD_REFUSED,
          message: refusalMessage(`the input of activity ${ctx.info.activityType}`, reason),
          nonRetryable: true,
        });
      }
      return next(input);
    },
  },
});
