/**
 * Bearer JWTs checked as Graph checks Entra ID's: signature against the token
 * endpoint's published keys (jose), audience Graph, issuer the tenant's STS.
 * The keys are fetched over https with the lab CA on first use (the token
 * endpoint may start after the stand-in) and again when a token names a key
 * not seen yet.
 */
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';

export interface JwksOptions {
  jwksUrl: string;
  issuer?: string;
  audience: string;
  /** PEM of the CA that signed the token endpoint's certificate */
  caFile?: string;
}

function fetchKeys(url: string, caFile?: string): Promise<JSONWebKeySet> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ca: caFile ? readFileSync(caFile) : undefined, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`JWKS ${url} answered HTTP ${res.statusCode}`));
        else resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as JSONWebKeySet);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`JWKS ${url} timed out`)));
    req.on('error', reject);
  });
}

export function jwksVerifier(options: JwksOptions): (token: string) => Promise<Record<string, unknown>> {
  let keys: ReturnType<typeof createLocalJWKSet> | null = null;
  const verify = async (token: string, refreshed: boolean): Promise<Record<string, unknown>> => {
    keys ??= createLocalJWKSet(await fetchKeys(options.jwksUrl, options.caFile));
    try {
      return (await jwtVerify(token, keys, { audience: options.audience, issuer: options.issuer })).payload;
    } catch (error) {
      if (refreshed || (error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
      keys = null;
      return verify(token, true);
    }
  };
  return (token) => verify(token, false);
}
