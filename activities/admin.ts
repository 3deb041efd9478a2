/**
 * Opens the admin token of a destructive request (shared/adminPath.ts) for
 * the workflow that received it. The token opens only for the organisation of
 * the asking run (worker/runSecrets.ts); it must name this operation and
 * target and not have expired. Any doubt is a non-retryable refusal.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { ADMIN_OPERATIONS, ADMIN_TOKEN_KIND, ADMIN_TOKEN_REFUSED, type AdminOperation } from '../shared/adminPath';
import type { ActivityDeps } from './deps';

const claimSchema = z.object({
  kind: z.literal(ADMIN_TOKEN_KIND),
  operation: z.enum(ADMIN_OPERATIONS),
  target: z.string(),
  nonce: z.string().min(16),
  expiresAt: z.string().datetime(),
});

export function createAdminActivities({ secrets }: ActivityDeps) {
  return {
    async checkAdminToken(input: {
      operation: AdminOperation;
      target: string;
      token: unknown;
    }): Promise<{ nonce: string; expiresAt: string }> {
      const refuse = (why: string): never => {
        throw ApplicationFailure.create({
          type: ADMIN_TOKEN_REFUSED,
          message:
            `Refused ${input.operation} of ${input.target}: ${why}. Nothing was done. ` +
            'Destructive operations are accepted only from the mailferry CLI, which seals a fresh admin token for each request.',
          nonRetryable: true,
        });
      };
      if (typeof input.token !== 'string' || input.token === '') return refuse('the request carries no admin token');
      let opened: string;
      try {
        opened = secrets.unseal(input.token);
      } catch (err) {
        return refuse(`its admin token does not open (${err instanceof Error ? err.message : String(err)})`);
      }
      let json: unknown;
      try {
        json = JSON.parse(opened);
      } catch {
        json = undefined;
      }
      const claim = claimSchema.safeParse(json);
      if (!claim.success) return refuse('what it carries as an admin token is not one');
      const { operation, target, nonce, expiresAt } = claim.data;
      if (operation !== input.operation || target !== input.target)
        return refuse(`its admin token was issued for ${operation} of ${target}`);
      if (Date.parse(expiresAt) <= Date.now()) return refuse(`its admin token expired at ${expiresAt}`);
      return { nonce, expiresAt };
    },
  };
}
