/**
 * The lab's Microsoft Graph stand-in: a stateful HTTP server for exactly the
 * Graph operations mailferry calls, each checked against Graph v1.0's CSDL.
 *
 * - Routes come from modules (lab/graph/modules.ts): each module registers its
 *   handlers with `routes.add(method, '/users/{id}/…', handler)` and may keep
 *   per-tenant state with `tenant.store(key, init)`.
 * - Every request's path, query options and body, and every response body,
 *   are checked against the CSDL (lab/graph/check.ts). A request that names
 *   anything Graph v1.0 lacks is answered 400 and recorded; a response that
 *   does is answered 500 and recorded. Tests read `GET /_lab/violations` and
 *   assert there are none.
 * - Bearer tokens: one a test registered for a tenant (`POST /_lab/tokens`),
 *   else a JWT checked with jose against a token endpoint's keys (the lab's,
 *   from `lab up`, or `PUT /_lab/auth`); its tenant is the `tid` claim.
 * - Each tenant is separate (its own organisation, domains, users, SKUs), so
 *   tests create a fresh one each and never see each other's objects.
 * - Throttling as Graph documents it: 429 with Retry-After once a window's
 *   request count is used up, and for Outlook resources at most 4 concurrent
 *   requests per app and mailbox ("MailboxConcurrency").
 * - Collections come in pages with `@odata.nextLink` (lab/graph/paging.ts).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { GraphChecker, type Resolved, type TypeRef } from './check';
import { loadCsdl } from './csdl';

export interface Violation {
  at: string;
  tenant: string | null;
  /** throttle: a request came back before the Retry-After it was given */
  side: 'request' | 'response' | 'unhandled' | 'throttle';
  method: string;
  url: string;
  problems: string[];
}

export interface Throttle {
  /** requests per window per app and key (a mailbox, or the directory); 0: no limit */
  limit: number;
  windowMs: number;
  /** answer the next N requests 429 whatever the counts, then go on */
  failNext: number;
  /** the Retry-After (seconds) of a forced 429 */
  retryAfterSeconds: number;
  /** at most this many requests in flight per app and mailbox (Outlook resources); 0: no limit */
  mailboxConcurrency: number;
}

export interface Tenant {
  id: string;
  /** waits before every handler, so concurrency limits can be met in a test */
  latencyMs: number;
  /** the most items a collection page holds, whatever `$top` asks (lab/graph/paging.ts); 0: Graph's own sizes */
  pageSize: number;
  throttle: Throttle;
  stats: { requests: number; throttled: number; peakMailboxConcurrency: number };
  /** a module's own state for this tenant, created on first use */
  store<T>(key: string, init: () => T): T;
}

export interface GraphRequest {
  method: string;
  /** path segments after /v1.0/, URL-decoded */
  segments: string[];
  query: URLSearchParams;
  /** the URL the client asked for, as it reached the stand-in (its host is the client's), for `@odata.nextLink` */
  url: URL;
  body: unknown;
  headers: IncomingMessage['headers'];
  tenant: Tenant;
  appId: string;
  /** where the CSDL says the path leads */
  resolved: Resolved;
}

export interface GraphReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** the CSDL type the body is checked as; default: what the path resolves to (an action's return type). null: not checked (errors) */
  type?: TypeRef | null;
}

export type GraphHandler = (request: GraphRequest, params: Record<string, string>) => GraphReply | Promise<GraphReply>;
export type ControlHandler = (body: unknown, params: Record<string, string>, query: URLSearchParams) => unknown | Promise<unknown>;

export interface GraphRoutes {
  /** a Graph route under /v1.0; `{name}` segments are parameters; an action may be named with or without `microsoft.graph.` */
  add(method: string, pattern: string, handler: GraphHandler): void;
  /** a lab-only route under /_lab (never checked against the CSDL), for tests to set up and read state */
  control(method: string, pattern: string, handler: ControlHandler): void;
}

export interface StandIn {
  tenant(id: string): Tenant | undefined;
  createTenant(id?: string): Tenant;
  checker: GraphChecker;
}

export type GraphModule = (routes: GraphRoutes, standIn: StandIn) => void;

/** A Graph error as the service writes it: `{ error: { code, message, innerError } }`. */
export function graphError(status: number, code: string, message: string, headers?: Record<string, string>): GraphReply {
  return {
    status,
    headers,
    type: null,
    body: {
      error: {
        code,
        message,
        innerError: { date: new Date().toISOString(), 'request-id': randomUUID(), 'client-request-id': randomUUID() },
      },
    },
  };
}

interface Route<H> {
  method: string;
  parts: string[];
  handler: H;
}

function match<H>(routes: Route<H>[], method: string, segments: string[]): { route: Route<H>; params: Record<string, string> } | null {
  for (const route of routes) {
    if (route.method !== method || route.parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = route.parts.every((part, i) => {
      if (part.startsWith('{')) {
        params[part.slice(1, -1)] = segments[i];
        return true;
      }
      return part === segments[i].replace(/^microsoft\.graph\./, '').toLowerCase();
    });
    if (ok) return { route, params };
  }
  return null;
}

const splitPattern = (pattern: string) =>
  pattern
    .split('/')
    .filter(Boolean)
    .map((p) => (p.startsWith('{') ? p : p.replace(/^microsoft\.graph\./, '').toLowerCase()));

const authSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('static') }),
  z.object({
    kind: z.literal('jwks'),
    jwksUrl: z.string().url(),
    issuer: z.string().optional(),
    audience: z.string().default('https://graph.microsoft.com'),
    caFile: z.string().optional(),
  }),
]);

const throttleSchema = z.object({
  limit: z.number().int().min(0).optional(),
  windowMs: z.number().int().positive().optional(),
  failNext: z.number().int().min(0).optional(),
  retryAfterSeconds: z.number().int().min(0).optional(),
  mailboxConcurrency: z.number().int().min(0).optional(),
  latencyMs: z.number().int().min(0).optional(),
});

/** Graph's documented Outlook limits: 10,000 requests per 10 minutes per app and mailbox, 4 concurrent. */
export const DEFAULT_THROTTLE: Throttle = { limit: 10000, windowMs: 600_000, failNext: 0, retryAfterSeconds: 1, mailboxConcurrency: 4 };

export interface GraphServerOptions {
  port: number;
  host?: string;
  modules: GraphModule[];
  /** verify JWTs from this token endpoint besides the static tokens tests register */
  jwks?: { jwksUrl: string; issuer?: string; caFile?: string };
  log?: (line: string) => void;
  /** every new tenant's page size cap (Tenant.pageSize); 0 or unset: Graph's own sizes */
  pageSize?: number;
}

export function createGraphServer(options: GraphServerOptions): { server: Server; listen(): Promise<void>; close(): Promise<void> } {
  const checker = new GraphChecker(loadCsdl());
  const tenants = new Map<string, Tenant>();
  const violations: Violation[] = [];
  const graphRoutes: Route<GraphHandler>[] = [];
  const controlRoutes: Route<ControlHandler>[] = [];
  const staticTokens = new Map<string, { tenant: string; appId: string }>();
  /** static tokens are looked up first; any other is checked as a JWT when a JWKS verifier is set */
  let jwt: ((token: string) => Promise<Record<string, unknown>>) | null = null;
  const setAuth = async (auth: z.input<typeof authSchema>) => {
    const parsed = authSchema.parse(auth);
    // jose is ESM only: loaded when a JWKS verifier is asked for, so jest (CommonJS) can load this file
    jwt = parsed.kind === 'static' ? null : (await import('./jwks')).jwksVerifier(parsed);
  };
  const ready = options.jwks ? setAuth({ kind: 'jwks', ...options.jwks }) : Promise.resolve();
  /** request times per tenant/app/key, for the sliding window */
  const windows = new Map<string, number[]>();
  const inFlight = new Map<string, number>();
  /** when a throttled app may come back, per tenant/app/key: a request before that is a client that ignored Retry-After */
  const retryNotBefore = new Map<string, number>();

  function createTenant(id: string = randomUUID()): Tenant {
    const state = new Map<string, unknown>();
    const tenant: Tenant = {
      id,
      latencyMs: 0,
      pageSize: options.pageSize ?? 0,
      throttle: { ...DEFAULT_THROTTLE },
      stats: { requests: 0, throttled: 0, peakMailboxConcurrency: 0 },
      store<T>(key: string, init: () => T): T {
        if (!state.has(key)) state.set(key, init());
        return state.get(key) as T;
      },
    };
    tenants.set(id, tenant);
    return tenant;
  }

  const standIn: StandIn = { tenant: (id) => tenants.get(id), createTenant, checker };
  const routes: GraphRoutes = {
    add: (method, pattern, handler) => graphRoutes.push({ method: method.toUpperCase(), parts: splitPattern(pattern), handler }),
    control: (method, pattern, handler) => controlRoutes.push({ method: method.toUpperCase(), parts: splitPattern(pattern), handler }),
  };

  routes.control('GET', '/health', () => ({ ok: true }));
  routes.control('GET', '/violations', () => violations);
  routes.control('DELETE', '/violations', () => {
    violations.length = 0;
    return { ok: true };
  });
  routes.control('PUT', '/auth', async (body) => {
    await setAuth(body as z.input<typeof authSchema>);
    return { ok: true };
  });
  routes.control('POST', '/tokens', (body) => {
    const { token, tenant, appId } = z
      .object({ token: z.string().min(16), tenant: z.string(), appId: z.string().default('lab-app') })
      .parse(body);
    staticTokens.set(token, { tenant, appId });
    return { ok: true };
  });
  routes.control('PUT', '/tenants/{id}/throttle', (body, { id }) => {
    const tenant = tenants.get(id);
    if (!tenant) throw new ControlError(404, `no tenant ${id}`);
    const { latencyMs, ...throttle } = throttleSchema.parse(body);
    Object.assign(tenant.throttle, throttle);
    if (latencyMs !== undefined) tenant.latencyMs = latencyMs;
    return { throttle: tenant.throttle, latencyMs: tenant.latencyMs };
  });
  routes.control('PUT', '/tenants/{id}/paging', (body, { id }) => {
    const tenant = tenants.get(id);
    if (!tenant) throw new ControlError(404, `no tenant ${id}`);
    tenant.pageSize = z.object({ pageSize: z.number().int().min(0) }).parse(body).pageSize;
    return { pageSize: tenant.pageSize };
  });
  routes.control('GET', '/tenants/{id}/stats', (_body, { id }) => {
    const tenant = tenants.get(id);
    if (!tenant) throw new ControlError(404, `no tenant ${id}`);
    return tenant.stats;
  });
  for (const register of options.modules) register(routes, standIn);

  async function authenticate(header: string | undefined): Promise<{ tenant: Tenant; appId: string } | GraphReply> {
    const token = /^Bearer (.+)$/i.exec(header ?? '')?.[1];
    if (!token) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    let tenantId: string;
    let appId: string;
    const known = staticTokens.get(token);
    if (known) {
      ({ tenant: tenantId, appId } = known);
    } else if (!jwt) {
      return graphError(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.');
    } else {
      try {
        const payload = await jwt(token);
        tenantId = String(payload.tid ?? '');
        appId = String(payload.appid ?? payload.azp ?? payload.client_id ?? '');
      } catch (error) {
        return graphError(401, 'InvalidAuthenticationToken', `Access token validation failure: ${(error as Error).message}`);
      }
    }
    const tenant = tenants.get(tenantId);
    if (!tenant) return graphError(401, 'InvalidAuthenticationToken', `The token's tenant ${tenantId} is not a tenant of this stand-in.`);
    return { tenant, appId };
  }

  /** null: go on; else the 429 to answer */
  function throttled(tenant: Tenant, appId: string, key: string): GraphReply | null {
    const t = tenant.throttle;
    if (t.failNext > 0) {
      t.failNext--;
      return graphError(429, 'TooManyRequests', 'Too many requests.', { 'Retry-After': String(t.retryAfterSeconds) });
    }
    if (t.limit === 0) return null;
    const now = Date.now();
    const windowKey = `${tenant.id}\0${appId}\0${key}`;
    const times = (windows.get(windowKey) ?? []).filter((at) => at > now - t.windowMs);
    windows.set(windowKey, times);
    if (times.length >= t.limit) {
      const wait = Math.max(1, Math.ceil((times[0] + t.windowMs - now) / 1000));
      return graphError(429, 'ApplicationThrottled', 'Application is over its MailboxLimit limit.', { 'Retry-After': String(wait) });
    }
    times.push(now);
    return null;
  }

  function record(side: Violation['side'], tenant: Tenant | null, req: IncomingMessage, problems: string[]): void {
    violations.push({
      at: new Date().toISOString(),
      tenant: tenant?.id ?? null,
      side,
      method: req.method ?? '',
      url: req.url ?? '',
      problems,
    });
    options.log?.(`${side} violation ${req.method} ${req.url}: ${problems.join('; ')}`);
  }

  async function serveGraph(req: IncomingMessage, url: URL, raw: string): Promise<GraphReply> {
    const segments = url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
    const auth = await authenticate(req.headers.authorization);
    if ('status' in auth) return auth;
    const { tenant, appId } = auth;
    tenant.stats.requests++;

    const { resolved, problems } = checker.resolvePath(segments);
    let body: unknown;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        problems.push('the body is not JSON');
      }
    }
    if (resolved?.kind === 'resource') {
      problems.push(...checker.checkQuery(resolved.ref, url.searchParams));
      const method = req.method ?? 'GET';
      if (method === 'POST' || method === 'PATCH' || method === 'PUT') {
        problems.push(...checker.checkValue({ type: resolved.ref.type, collection: false }, body, 'body'));
      }
    } else if (resolved?.kind === 'operation') {
      problems.push(...checker.checkActionBody(resolved.operation, body));
    }
    if (problems.length > 0 || !resolved) {
      record('request', tenant, req, problems);
      return graphError(400, 'BadRequest', problems.join('; '));
    }

    const found = match(graphRoutes, req.method ?? 'GET', segments);
    if (!found) {
      record('unhandled', tenant, req, [`the stand-in has no handler for ${req.method} /${segments.join('/')} (Graph has it)`]);
      return graphError(501, 'NotImplemented', `The lab's Graph stand-in does not implement ${req.method} ${url.pathname}.`);
    }

    const mailbox =
      segments[0] === 'users' && segments.length > 2 && segments[2] !== 'assignLicense'
        ? `mailbox:${segments[1].toLowerCase()}`
        : 'directory';
    const retryKey = `${tenant.id}\0${appId}\0${mailbox}`;
    const notBefore = retryNotBefore.get(retryKey) ?? 0;
    if (Date.now() < notBefore) {
      record('throttle', tenant, req, [`retried ${notBefore - Date.now()} ms before the Retry-After it was given`]);
      tenant.stats.throttled++;
      return graphError(429, 'TooManyRequests', 'Too many requests.', { 'Retry-After': String(Math.ceil((notBefore - Date.now()) / 1000)) });
    }
    const limited = throttled(tenant, appId, mailbox);
    if (limited) {
      tenant.stats.throttled++;
      retryNotBefore.set(retryKey, Date.now() + Number(limited.headers?.['Retry-After'] ?? 0) * 1000);
      return limited;
    }
    const concurrencyKey = `${tenant.id}\0${appId}\0${mailbox}`;
    const running = (inFlight.get(concurrencyKey) ?? 0) + 1;
    if (mailbox !== 'directory' && tenant.throttle.mailboxConcurrency > 0 && running > tenant.throttle.mailboxConcurrency) {
      tenant.stats.throttled++;
      return graphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'Retry-After': '1' });
    }
    inFlight.set(concurrencyKey, running);
    if (mailbox !== 'directory') tenant.stats.peakMailboxConcurrency = Math.max(tenant.stats.peakMailboxConcurrency, running);
    try {
      if (tenant.latencyMs > 0) await new Promise((r) => setTimeout(r, tenant.latencyMs));
      const reply = await found.route.handler(
        { method: req.method ?? 'GET', segments, query: url.searchParams, url: new URL(url.pathname + url.search, `http://${req.headers.host ?? 'stand-in'}`), body, headers: req.headers, tenant, appId, resolved },
        found.params,
      );
      const type = reply.type === undefined ? defaultType(resolved) : reply.type;
      if (reply.status < 300 && reply.body !== undefined && type) {
        const responseProblems = checker.checkResponse(type, reply.body);
        if (responseProblems.length > 0) {
          record('response', tenant, req, responseProblems);
          return graphError(500, 'StandInResponseViolation', responseProblems.join('; '));
        }
      }
      return reply;
    } finally {
      inFlight.set(concurrencyKey, (inFlight.get(concurrencyKey) ?? 1) - 1);
    }
  }

  async function serveControl(req: IncomingMessage, url: URL, raw: string): Promise<GraphReply> {
    const segments = url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
    const found = match(controlRoutes, req.method ?? 'GET', segments);
    if (!found) return { status: 404, body: { error: `no lab control route ${req.method} ${url.pathname}` } };
    try {
      const result = await found.route.handler(raw === '' ? undefined : JSON.parse(raw), found.params, url.searchParams);
      return { status: 200, body: result ?? { ok: true } };
    } catch (error) {
      const status = error instanceof ControlError ? error.status : 400;
      return { status, body: { error: error instanceof Error ? error.message : String(error) } };
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://stand-in');
    let reply: GraphReply;
    try {
      if (url.pathname.startsWith('/v1.0/')) reply = await serveGraph(req, url, raw);
      else if (url.pathname.startsWith('/_lab/')) reply = await serveControl(req, url, raw);
      else reply = graphError(400, 'BadRequest', `Invalid version: the stand-in serves /v1.0 only (${url.pathname}).`);
    } catch (error) {
      options.log?.(`handler error ${req.method} ${req.url}: ${(error as Error).stack}`);
      reply = graphError(500, 'InternalServerError', (error as Error).message);
    }
    const headers: Record<string, string> = { ...reply.headers };
    if (reply.body !== undefined) headers['Content-Type'] = 'application/json';
    res.writeHead(reply.status, headers);
    res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      options.log?.(`unexpected: ${(error as Error).stack}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  return {
    server,
    listen: async () => {
      await ready;
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port, options.host ?? '127.0.0.1', () => resolve()));
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function defaultType(resolved: Resolved): TypeRef | null {
  if (resolved.kind === 'resource') return resolved.ref;
  if (resolved.kind === 'operation') return resolved.operation.returns;
  return null;
}
