/** Bearer JWTs checked against a token endpoint's published keys (jose), as Graph checks Entra ID's. */
import { createRemoteJWKSet, jwtVerify } from 'jose';

export function jwksVerifier(options: { jwksUrl: string; issuer?: string; audience: string }): (token: string) => Promise<Record<string, unknown>> {
  const keys = createRemoteJWKSet(new URL(options.jwksUrl));
  return async (token) => (await jwtVerify(token, keys, { audience: options.audience, issuer: options.issuer })).payload;
}
