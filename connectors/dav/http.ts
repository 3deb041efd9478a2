/**
 * The DAV requests mailferry makes, over tsdav's request builders (they write
 * and parse the WebDAV XML) with explicit URLs: the lab contract fixes the
 * layout `/<address>/<collection>/`, so no service discovery is needed.
 * Every failure becomes a MailferryError; the password never appears in one.
 */
import { davRequest, getBasicAuthHeaders, propfind, type DAVResponse } from 'tsdav';
import { MailferryError } from '../../shared/errors';
import { assertUrlAllowsPassword } from '../../shared/transport';
import type { DavEndpoint } from './types';

export type DavProps = Record<string, unknown>;

export interface DavHttp {
  /** absolute URL of the principal collection of `address` */
  home(address: string): string;
  absolute(href: string): string;
  /** responses of a PROPFIND; a missing resource yields `[]` */
  propfind(url: string, depth: '0' | '1', props: DavProps): Promise<DAVResponse[]>;
  /** REPORT, MKCOL or MKCALENDAR with a body built the tsdav way (none for a plain MKCOL) */
  request(
    url: string,
    method: 'REPORT' | 'MKCOL' | 'MKCALENDAR',
    body: Record<string, unknown> | undefined,
    namespace: string,
    depth?: '1',
  ): Promise<DAVResponse[]>;
  /** creates `url` unless something already exists there */
  putNew(url: string, data: string, contentType: string): Promise<PutOutcome>;
  /** the body at `url`, or null when nothing is there */
  get(url: string): Promise<string | null>;
}

/**
 * `taken`: something already exists at the URL (412). `refused`: the server
 * answered 4xx for this one item (too large, invalid, UID already used…);
 * `answer` is its status line and the start of its body, for the bad-item list.
 */
export type PutOutcome = { kind: 'created' } | { kind: 'taken' } | { kind: 'refused'; status: number; answer: string };

const ANSWER_CHARS = 300;

function rejectStatus(endpoint: DavEndpoint, url: string, status: number, statusText: string): never {
  const where = `${url} (as ${endpoint.user})`;
  if (status === 401) throw new MailferryError('AUTH_FAILED', `The DAV server refused the credentials for ${where}.`);
  if (status === 403)
    throw new MailferryError(
      'AUTH_FAILED',
      `The DAV server denied access to ${where}: the user needs read/write rights on every mailbox's collections.`,
    );
  throw new MailferryError('COPY_FAILED', `The DAV server answered ${status} ${statusText} for ${where}.`, { permanent: status < 500 });
}

export function createDavHttp(endpoint: DavEndpoint): DavHttp {
  const root = endpoint.url.endsWith('/') ? endpoint.url : `${endpoint.url}/`;
  const headers = getBasicAuthHeaders({ username: endpoint.user, password: endpoint.password });
  const origin = new URL(root).origin;

  async function reachable<T>(url: string, call: () => Promise<T>): Promise<T> {
    // a server's href may name any host: the credentials go to the configured one only
    if (new URL(url).origin !== origin) {
      throw new MailferryError(
        'COPY_FAILED',
        `The DAV server at ${origin} pointed to ${new URL(url).origin}; mailferry sends the credentials of ${endpoint.user} only to ${origin}, so it stopped.`,
      );
    }
    assertUrlAllowsPassword(url, `the CalDAV/CardDAV password of ${endpoint.user}`, endpoint.allowPlaintext, 'use https://');
    try {
      return await call();
    } catch (error) {
      // fetch rejects only for transport failures, as a TypeError whose cause holds the socket error
      const { name, cause } = (error ?? {}) as { name?: unknown; cause?: { message?: unknown; code?: unknown } };
      if (name !== 'TypeError' || cause === undefined) throw error;
      throw new MailferryError('CONNECTION_FAILED', `Cannot reach the DAV server at ${url} (${String(cause.code ?? cause.message)}).`, {
        permanent: false,
        cause: error,
      });
    }
  }

  function checked(url: string, responses: DAVResponse[], allowMissing: boolean): DAVResponse[] {
    // a failed request comes back as one response without a multistatus body
    const [first] = responses;
    if (responses.length === 1 && first && first.props === undefined && !first.ok) {
      if (allowMissing && first.status === 404) return [];
      rejectStatus(endpoint, url, first.status, first.statusText);
    }
    return responses;
  }

  return {
    // `@` may stay literal in a path segment; everything else hostile is escaped
    home: (address) => `${root}${encodeURIComponent(address).replace(/%40/g, '@')}/`,
    absolute: (href) => new URL(href, root).href,
    propfind: (url, depth, props) => reachable(url, async () => checked(url, await propfind({ url, depth, props, headers }), true)),
    request: (url, method, body, namespace, depth) =>
      reachable(url, async () =>
        checked(
          url,
          await davRequest({ url, init: { method, namespace, body, headers: { ...headers, ...(depth ? { depth } : {}) } } }),
          false,
        ),
      ),
    putNew: (url, data, contentType) =>
      reachable(url, async (): Promise<PutOutcome> => {
        const response = await fetch(url, {
          method: 'PUT',
          body: data,
          headers: { ...headers, 'Content-Type': contentType, 'If-None-Match': '*' },
        });
        const body = await response.text();
        if (response.status === 412) return { kind: 'taken' };
        if (response.ok) return { kind: 'created' };
        // a refused login is not the item's fault; a 5xx is the server's, and a retry may heal it
        if (response.status === 401 || response.status >= 500) rejectStatus(endpoint, url, response.status, response.statusText);
        const answer = `${response.status} ${response.statusText} ${body.replace(/\s+/g, ' ').trim()}`.trim().slice(0, ANSWER_CHARS);
        return { kind: 'refused', status: response.status, answer };
      }),
    get: (url) =>
      reachable(url, async () => {
        const response = await fetch(url, { headers });
        const body = await response.text();
        if (response.status === 404) return null;
        if (!response.ok) rejectStatus(endpoint, url, response.status, response.statusText);
        return body;
      }),
  };
}
