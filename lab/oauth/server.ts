/**
 * The lab's Microsoft identity platform: an https token endpoint for the
 * client-credentials grant with a certificate, as msal-node speaks it.
 *
 * - `GET /{tenant}/v2.0/.well-known/openid-configuration`: the authority
 *   metadata msal-node reads before its first token request;
 * - `POST /{tenant}/oauth2/v2.0/token`: checks the client assertion (a JWT
 *   signed with the registered certificate's key, `aud` this endpoint,
 *   `iss` = `sub` = the client id, thumbprint in `x5t#S256` or `x5t`) and the
 *   scope (`<resource>/.default`), then issues an access token for that
 *   resource carrying the application permissions (`roles`) the app was
 *   granted there, signed with the tenant's key and valid for the app's
 *   token lifetime;
 * - `GET /{tenant}/discovery/v2.0/keys`: the JWKS for that key.
 *
 * Errors have Entra ID's shape (`error`, `error_description` starting with
 * the AADSTS code, `error_codes`). All JWT work is jose's. The lab starts it
 * as its own process (`lab:up`); its configuration is written by register.ts.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { SignJWT, decodeProtectedHeader, exportJWK, importPKCS8, importX509, jwtVerify, type CryptoKey, type JWK } from 'jose';
import { z } from 'zod';

export const labAppSchema = z.object({
  name: z.string(),
  clientId: z.string().uuid(),
  /** the app's service principal in the tenant (the token's `oid` and `sub`) */
  servicePrincipalId: z.string().uuid(),
  /** PEM X.509 certificate uploaded to the app registration */
  certificateFile: z.string(),
  /** SHA-256 and SHA-1 thumbprints of the certificate, hex */
  thumbprintSha256: z.string(),
  thumbprintSha1: z.string(),
  /** application permissions granted (admin consent), per resource: `https://outlook.office365.com` → [IMAP.AccessAsApp] */
  roles: z.record(z.string(), z.array(z.string())),
  tokenLifetimeSeconds: z.number().int().positive(),
});
export type LabApp = z.infer<typeof labAppSchema>;

export const tokenServerConfigSchema = z.object({
  host: z.string(),
  port: z.number().int(),
  tenantId: z.string().uuid(),
  tls: z.object({ cert: z.string(), key: z.string() }),
  /** PKCS#8 PEM of the tenant's token-signing key (RS256) */
  signingKeyFile: z.string(),
  kid: z.string(),
  apps: z.array(labAppSchema),
});
export type TokenServerConfig = z.infer<typeof tokenServerConfigSchema>;

/** Where things are, from the config: what the lab info publishes and the server answers. */
export function tokenEndpoints(config: Pick<TokenServerConfig, 'host' | 'port' | 'tenantId'>) {
  const origin = `https://${config.host}:${config.port}`;
  const authority = `${origin}/${config.tenantId}`;
  return {
    origin,
    authority,
    metadata: `${authority}/v2.0/.well-known/openid-configuration`,
    token: `${authority}/oauth2/v2.0/token`,
    jwks: `${authority}/discovery/v2.0/keys`,
    /** v2.0 authority metadata issuer (msal-node checks it shares the authority's origin) */
    issuer: `${authority}/v2.0`,
    /**
     * the `iss` of the access tokens: Exchange and Graph get v1.0 tokens, issued by sts.windows.net as in
     * Entra ID, so a second endpoint on another port (a test's, with a shorter token lifetime) is the same issuer
     */
    accessTokenIssuer: `https://sts.windows.net/${config.tenantId}/`,
  };
}

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

class StsError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadsts: number,
    description: string,
  ) {
    super(`AADSTS${aadsts}: ${description}`);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new StsError(400, 'invalid_request', 90014, 'The request body is too large.');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export interface TokenServer {
  port: number;
  /** tokens issued so far, per client id (tests count renewals with it) */
  issued: Map<string, number>;
  close(): Promise<void>;
}

interface Keys {
  signing: CryptoKey;
  jwk: JWK;
  certificates: Map<string, { app: LabApp; pem: string }>;
}

async function loadKeys(config: TokenServerConfig): Promise<Keys> {
  const signing = await importPKCS8(readFileSync(config.signingKeyFile, 'utf8'), 'RS256', { extractable: true });
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = await exportJWK(signing);
  const certificates = new Map(config.apps.map((app) => [app.clientId, { app, pem: readFileSync(app.certificateFile, 'utf8') }]));
  return { signing, jwk: { ...publicJwk, kid: config.kid, use: 'sig', alg: 'RS256', kty: 'RSA' }, certificates };
}

/** The client assertion, checked as Entra ID does; returns the app it authenticates. */
async function authenticateClient(form: URLSearchParams, keys: Keys, tokenUrl: string): Promise<LabApp> {
  const clientId = form.get('client_id') ?? '';
  const registered = keys.certificates.get(clientId);
  if (!registered) {
    throw new StsError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory.`);
  }
  if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE || !form.get('client_assertion')) {
    throw new StsError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }
  const assertion = form.get('client_assertion') as string;
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw new StsError(401, 'invalid_client', 700027, 'Client assertion is not a valid JWT.');
  }
  const { app, pem } = registered;
  const x5t256 = typeof header['x5t#S256'] === 'string' ? Buffer.from(header['x5t#S256'], 'base64url').toString('hex') : undefined;
  const x5t = typeof header.x5t === 'string' ? Buffer.from(header.x5t, 'base64url').toString('hex') : undefined;
  if (x5t256 !== app.thumbprintSha256 && x5t !== app.thumbprintSha1) {
    throw new StsError(401, 'invalid_client', 700027, `Client assertion failed signature validation: the key was not found (thumbprint ${x5t256 ?? x5t ?? 'none'} is not registered for the app).`);
  }
  const alg = header.alg === 'PS256' ? 'PS256' : 'RS256';
  try {
    await jwtVerify(assertion, await importX509(pem, alg), {
      algorithms: ['PS256', 'RS256'],
      audience: tokenUrl,
      issuer: clientId,
      subject: clientId,
      requiredClaims: ['exp', 'jti'],
      // Entra ID allows five minutes of clock skew; msal-node rounds its nbf to the nearest second, so it can lie ahead
      clockTolerance: 300,
    });
  } catch (err) {
    throw new StsError(401, 'invalid_client', 700027, `Client assertion failed signature validation: ${(err as Error).message}`);
  }
  return app;
}

async function issue(form: URLSearchParams, app: LabApp, keys: Keys, config: TokenServerConfig): Promise<Record<string, unknown>> {
  if (form.get('grant_type') !== 'client_credentials') {
    throw new StsError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${form.get('grant_type') ?? ''}'.`);
  }
  const scopes = (form.get('scope') ?? '').split(' ').filter((s) => s.endsWith('/.default'));
  if (scopes.length !== 1) {
    throw new StsError(400, 'invalid_scope', 1002012, `The provided value for scope ${form.get('scope') ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
  }
  const resource = scopes[0]!.slice(0, -'/.default'.length);
  const roles = app.roles[resource];
  if (!roles) {
    throw new StsError(400, 'invalid_resource', 500011, `The resource principal named ${resource} was not found in the tenant, or the app has no permission on it.`);
  }
  const now = Math.floor(Date.now() / 1000);
  const lifetime = app.tokenLifetimeSeconds;
  const accessToken = await new SignJWT({ appid: app.clientId, appidacr: '2', idtyp: 'app', oid: app.servicePrincipalId, roles, tid: config.tenantId, ver: '1.0' })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: config.kid })
    .setIssuer(tokenEndpoints(config).accessTokenIssuer)
    .setAudience(resource)
    .setSubject(app.servicePrincipalId)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + lifetime)
    .setJti(randomUUID())
    .sign(keys.signing);
  return { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken };
}

export async function startTokenServer(config: TokenServerConfig): Promise<TokenServer> {
  const keys = await loadKeys(config);
  const issued = new Map<string, number>();
  const tenant = `/${config.tenantId}`;
  // port 0 (a test's own endpoint): the URLs it publishes name the port it got
  let urls = tokenEndpoints(config);
  const describe = () => ({
    issuer: urls.issuer,
    token_endpoint: urls.token,
    jwks_uri: urls.jwks,
    authorization_endpoint: `${urls.authority}/oauth2/v2.0/authorize`,
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_post', 'client_secret_basic'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    tenant_region_scope: 'EU',
  });
  let metadata = describe();
  const server: Server = createServer({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, (req, res) => {
    const path = new URL(req.url ?? '/', urls.origin).pathname;
    void (async () => {
      try {
        if (req.method === 'GET' && path === `${tenant}/v2.0/.well-known/openid-configuration`) return send(res, 200, metadata);
        if (req.method === 'GET' && path === `${tenant}/discovery/v2.0/keys`) return send(res, 200, { keys: [keys.jwk] });
        if (req.method === 'POST' && path === `${tenant}/oauth2/v2.0/token`) {
          const form = await readForm(req);
          const app = await authenticateClient(form, keys, urls.token);
          const body = await issue(form, app, keys, config);
          issued.set(app.clientId, (issued.get(app.clientId) ?? 0) + 1);
          return send(res, 200, body);
        }
        if (path.startsWith('/') && !path.startsWith(`${tenant}/`)) {
          throw new StsError(400, 'invalid_tenant', 90002, `Tenant '${path.split('/')[1] ?? ''}' not found.`);
        }
        send(res, 404, { error: 'not_found', error_description: `no such endpoint: ${req.method} ${path}` });
      } catch (err) {
        const e = err instanceof StsError ? err : new StsError(500, 'server_error', 90000, (err as Error).message);
        send(res, e.status, {
          error: e.error,
          error_description: e.message,
          error_codes: [e.aadsts],
          timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z',
          trace_id: randomUUID(),
          correlation_id: randomUUID(),
        });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  urls = tokenEndpoints({ ...config, port });
  metadata = describe();
  return {
    port,
    issued,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: server.ts <config.json>');
  const config = tokenServerConfigSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  startTokenServer(config).then(
    (s) => console.log(`token endpoint for tenant ${config.tenantId} on https://${config.host}:${s.port}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
