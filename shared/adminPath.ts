/**
 * The admin path for destructive operations (Complete Migration, convert to
 * MEU, rollback, stop). Holding the payload key is what lets the CLI speak to
 * mailferry, but an encrypted request copied out of history is still
 * mailferry's ciphertext, and a signal needs nothing at all. So each such
 * request carries an admin token the CLI seals for it (shared/secrets.ts, so
 * it is bound to the organisation as AES-GCM associated data) naming the
 * operation, its target, a fresh nonce and an expiry. Only an activity can
 * open it; the workflow then refuses a nonce it has seen before. A token
 * replayed from history therefore does nothing: not for another operation,
 * target or organisation, not a second time, not after it expired.
 *
 * Pure data and functions: imported by workflow code, the CLI and activities.
 */

export const ADMIN_OPERATIONS = ['completeMigration', 'convertToMeu', 'rollback', 'stop'] as const;
export type AdminOperation = (typeof ADMIN_OPERATIONS)[number];

/** what the sealed token says; `kind` keeps a sealed password from ever passing for a token */
export interface AdminClaim {
  kind: typeof ADMIN_TOKEN_KIND;
  operation: AdminOperation;
  target: string;
  nonce: string;
  /** ISO time after which the token is refused */
  expiresAt: string;
}
export const ADMIN_TOKEN_KIND = 'mailferry admin token v1';

/** long enough for a CLI call to reach a busy worker, short enough that a token read from history has expired */
export const ADMIN_TOKEN_TTL_SECONDS = 600;

export const ADMIN_TOKEN_REFUSED = 'ADMIN_TOKEN_REFUSED';

/** What a token is good for besides its operation: computed the same way by the CLI and the workflow. */
export const adminTarget = {
  completeMigration: (): string => 'the organisation',
  convertToMeu: (request: { mailboxes?: string[]; batch?: number }): string =>
    JSON.stringify({ batch: request.batch ?? null, mailboxes: (request.mailboxes ?? []).map((m) => m.toLowerCase()).sort() }),
  rollback: (request: { address: string }): string => request.address.toLowerCase(),
  stop: (request: { batch: number }): string => `batch ${request.batch}`,
};
