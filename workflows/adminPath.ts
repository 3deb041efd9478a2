/**
 * The workflow's half of the admin path (shared/adminPath.ts): a destructive
 * request goes ahead only when an activity opened its admin token for this
 * operation and target, and its nonce was not used before. Nonces are kept
 * until their token expires; after that the token is refused anyway.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { ADMIN_TOKEN_REFUSED, type AdminOperation } from '../shared/adminPath';

type Activities = ReturnType<typeof createActivities>;

const admin = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 5 },
});

export interface UsedNonce {
  nonce: string;
  expiresAt: string;
}

/** Refuses (ADMIN_TOKEN_REFUSED, non-retryable) unless `token` is a fresh admin token for `operation` of `target`. */
export async function requireAdmin(operation: AdminOperation, target: string, token: unknown, used?: UsedNonce[]): Promise<void> {
  let claim: UsedNonce;
  try {
    claim = await admin.checkAdminToken({ operation, target, token });
  } catch (err) {
    // the refusal itself, not "activity failed": that is what the CLI shows
    throw err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
  }
  if (!used) return;
  const now = Date.now();
  for (let i = used.length - 1; i >= 0; i--) if (Date.parse(used[i]!.expiresAt) <= now) used.splice(i, 1);
  if (used.some((u) => u.nonce === claim.nonce)) {
    throw ApplicationFailure.create({
      type: ADMIN_TOKEN_REFUSED,
      message:
        `Refused ${operation} of ${target}: its admin token was used before (a request replayed from history). Nothing was done. ` +
        'The mailferry CLI seals a fresh token for every request.',
      nonRetryable: true,
    });
  }
  used.push(claim);
}

/** an update's validator: a request without a token is refused before it reaches history */
export function requireToken(request: { token?: unknown }): void {
  if (typeof request.token !== 'string' || request.token === '')
    throw new Error('This request carries no admin token: destructive operations are accepted only from the mailferry CLI');
}
