/**
 * Microsoft's Graph client, as every mailferry Graph connector uses it:
 * the bearer token goes to the one configured Graph base URL only, and
 * Microsoft's RetryHandler retries 429/503/504, waiting what Retry-After
 * says. The client's own AuthenticationHandler sends tokens to https hosts
 * only, so the lab's loopback stand-in (http) would get none; this handler
 * sends it to exactly `baseUrl`, https or loopback. Collections come in
 * pages: `allPages` reads them all.
 */
import { Client, GraphError, HTTPMessageHandler, RetryHandler, RetryHandlerOptions, type Context, type Middleware } from '@microsoft/microsoft-graph-client';
import { MailferryError } from '../../shared/errors';

export const GRAPH_URL = 'https://graph.microsoft.com';

export interface GraphEndpoint {
  /** https://graph.microsoft.com, or the lab's stand-in */
  baseUrl: string;
  /** an app-only token for Graph (connectors/m365/token.ts, GRAPH_SCOPE) */
  accessToken(): Promise<string>;
  /** how many times a throttled request is retried after its Retry-After (Microsoft's handler caps it at 10) */
  maxRetries?: number;
}

class BearerForBaseUrl implements Middleware {
  private next?: Middleware;
  constructor(
    private readonly baseUrl: string,
    private readonly accessToken: () => Promise<string>,
  ) {}
  async execute(context: Context): Promise<void> {
    const url = typeof context.request === 'string' ? context.request : context.request.url;
    if (url.startsWith(`${this.baseUrl}/`)) {
      const token = await this.accessToken();
      const headers = new Headers(context.options?.headers as ConstructorParameters<typeof Headers>[0]);
      headers.set('Authorization', `Bearer ${token}`);
      context.options = { ...context.options, headers: Object.fromEntries(headers) };
    }
    return this.next?.execute(context);
  }
  setNext(next: Middleware): void {
    this.next = next;
  }
}

function checkedBaseUrl(raw: string): string {
  const url = new URL(raw);
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !loopback) {
    throw new MailferryError('TLS_REQUIRED', `The Graph URL ${raw} is not https: tokens are sent over TLS only (plain http only to this machine's loopback stand-in).`);
  }
  return `${url.origin}${url.pathname.replace(/\/$/, '')}`;
}

/** `before`: middleware that runs first (e.g. a per-mailbox concurrency limit holding its slot across retries). */
export function createGraphClient(endpoint: GraphEndpoint, before: Middleware[] = []): Client {
  const baseUrl = checkedBaseUrl(endpoint.baseUrl);
  const chain: Middleware[] = [
    ...before,
    new BearerForBaseUrl(baseUrl, endpoint.accessToken),
    new RetryHandler(new RetryHandlerOptions(RETRY_DELAY_SECONDS, endpoint.maxRetries ?? 10)),
    new HTTPMessageHandler(),
  ];
  for (let i = 0; i < chain.length - 1; i++) chain[i].setNext?.(chain[i + 1]);
  const client = Client.initWithMiddleware({ middleware: chain[0], baseUrl, defaultVersion: 'v1.0' });
  baseUrls.set(client, baseUrl);
  return client;
}

/** each client's Graph URL, so a next-page link is followed only there */
const baseUrls = new WeakMap<Client, string>();

/** One page of a Graph collection; more follow while it has `@odata.nextLink`. */
export interface GraphPage<T> {
  value: T[];
  '@odata.nextLink'?: string;
}

/**
 * Every item of a collection: the first page, then each `@odata.nextLink`
 * through the same client (its token, its retries, its concurrency slot).
 * Not the client's PageIterator: that hands the link to `client.api()`,
 * which takes an absolute link apart only when it is https, so the
 * loopback stand-in's pages would go astray; here the link is checked to
 * lead to the client's own Graph URL and followed as a path under it.
 */
export async function allPages<T>(client: Client, first: GraphPage<T>): Promise<T[]> {
  const items = [...first.value];
  const prefix = `${baseUrls.get(client) ?? GRAPH_URL}/v1.0/`;
  for (let next = first['@odata.nextLink']; next; ) {
    if (!next.startsWith(prefix)) {
      throw new MailferryError('GRAPH_REFUSED', `Microsoft Graph answered with a next-page link outside ${prefix} (${next}): mailferry follows only links to the Graph URL of its settings.`);
    }
    const page = (await client.api(next.slice(prefix.length - 1)).get()) as GraphPage<T>;
    items.push(...page.value);
    next = page['@odata.nextLink'];
  }
  return items;
}

/** the wait (seconds, growing exponentially) of a throttled request that carries no Retry-After */
const RETRY_DELAY_SECONDS = 3;

/** A Graph error's status and code, or null for anything else (network, programming). */
export function graphErrorOf(err: unknown): { status: number; code: string; message: string } | null {
  if (!(err instanceof GraphError)) return null;
  return { status: err.statusCode, code: err.code ?? '', message: err.message };
}

/** A refusal as mailferry reports it: permanent for 4xx (what was asked is wrong), retryable otherwise. */
export function graphRefusal(err: unknown, what: string): unknown {
  const e = graphErrorOf(err);
  if (!e) return err;
  // no HTTP status: the request never got an answer (network, or the token request before it failed): worth a retry
  const transient = e.status === 429 || e.status >= 500 || e.status <= 0;
  if (e.status === 401 || e.status === 403) {
    return new MailferryError('TOKEN_FAILED', `Microsoft Graph refused ${what}: ${e.status} ${e.code}: ${e.message}`, { cause: err });
  }
  return new MailferryError(transient ? 'CONNECTION_FAILED' : 'GRAPH_REFUSED', `Microsoft Graph refused ${what}: ${e.status} ${e.code}: ${e.message}`, {
    cause: err,
    permanent: !transient,
  });
}
