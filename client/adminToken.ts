/** The CLI's half of the admin path (shared/adminPath.ts): a fresh token for one destructive request. */
import { randomUUID } from 'node:crypto';
import { ADMIN_TOKEN_KIND, ADMIN_TOKEN_TTL_SECONDS, type AdminClaim, type AdminOperation } from '../shared/adminPath';
import type { Sealed } from '../shared/domain';
import type { Session } from './connection';

export function adminToken(session: Pick<Session, 'secrets'>, org: string, operation: AdminOperation, target: string): Sealed {
  const claim: AdminClaim = {
    kind: ADMIN_TOKEN_KIND,
    operation,
    target,
    nonce: randomUUID(),
    expiresAt: new Date(Date.now() + ADMIN_TOKEN_TTL_SECONDS * 1000).toISOString(),
  };
  return session.secrets.seal(org, JSON.stringify(claim));
}
