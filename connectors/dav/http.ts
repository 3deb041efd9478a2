/**
 * The DAV requests mailferry makes, over tsdav's request builders (they write
 * and parse the WebDAV XML) with explicit URLs: the lab contract fixes the
 * layout `/<address>/<collection>/`, so no service discovery is needed.
 * Every failure becomes a MailferryError; the password never appears in one.
 */
import sax from 'sax';
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
  /**
   * The members of a collection (PROPFIND depth 1 of `resourcetype`), its
   * answer parsed as it arrives and only the hrefs kept: the answer for a
   * calendar of 10,000 events, parsed whole, costs tens of MB of heap.
   * A missing collection yields `[]`.
   */
  members(url: string): Promise<DavMember[]>;
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

/** one `response` of a PROPFIND: the collection itself comes back too, with `collection: true` */
export interface DavMember {
  href: string;
  collection: boolean;
}

const MEMBERS_BODY = '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/></d:prop></d:propfind>';

/** Feeds a 207 body through a namespace-aware streaming parser, keeping each response's href and whether it is a collection. */
async function streamMembers(url: string, body: AsyncIterable<Uint8Array>): Promise<DavMember[]> {
  const members: DavMember[] = [];
  const parser = sax.parser(true, { xmlns: true });
  const open: string[] = [];
  let current: DavMember | null = null;
  let failure: Error | null = null;
  const dav = (tag: sax.QualifiedTag, local: string) => tag.uri === 'DAV:' && tag.local === local;
  parser.onopentag = (node) => {
    const tag = node as sax.QualifiedTag;
    if (dav(tag, 'response')) current = { href: '', collection: false };
    else if (current && dav(tag, 'collection') && open.at(-1) === 'DAV:resourcetype') current.collection = true;
    open.push(`${tag.uri}${tag.local}`);
  };
  const text = (t: string) => {
    if (current && open.at(-1) === 'DAV:href' && open.at(-2) === 'DAV:response') current.href += t;
  };
  parser.ontext = text;
  parser.oncdata = text;
  parser.onclosetag = () => {
    if (open.pop() === 'DAV:response' && current) {
      members.push({ ...current, href: current.href.trim() });
      current = null;
    }
  };
  parser.onerror = (error) => {
    failure ??= error;
  };
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    parser.write(decoder.decode(chunk, { stream: true }));
    if (failure) break;
  }
  if (!failure) parser.write(decoder.decode()).close();
  if (failure) throw new MailferryError('COPY_FAILED', `The DAV server's listing of ${url} is not well-formed XML (${(failure as Error).message.split('\n')[0]}).`, { permanent: false });
  return members;
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
    members: (url) =>
      reachable(url, async () => {
        const response = await fetch(url, {
          method: 'PROPFIND',
          body: MEMBERS_BODY,
          headers: { ...headers, depth: '1', 'Content-Type': 'application/xml; charset=utf-8' },
        });
        if (response.status !== 207 || !response.body) {
          await response.body?.cancel();
          if (response.status === 404) return [];
          rejectStatus(endpoint, url, response.status, response.statusText);
        }
        return streamMembers(url, response.body);
      }),
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
