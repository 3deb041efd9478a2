/**
 * Server-side paging as Graph does it for collections: a page holds `$top`
 * items (or the resource's default page size), and when more follow, the
 * page carries `@odata.nextLink`, the same request with an opaque
 * `$skiptoken`. A client that reads only the first page misses the rest, so
 * every connector that lists a collection must follow the link; a tenant's
 * `pageSize` (lab control API) makes pages small enough for a test to see it.
 *
 * Page sizes from Microsoft's paging documentation: directory objects
 * (users) 100 by default, `$top` 1 to 999 (beyond: 400); Outlook items
 * (contacts, events, folders, calendars, instances) 10 by default, at most
 * 1,000 per page.
 */
import { createHash } from 'node:crypto';
import { graphError, type GraphReply, type GraphRequest } from './server';

export interface PageSizes {
  default: number;
  max: number;
  /** a `$top` above `max` is a 400 (directory), else the page is cut to `max` (Outlook) */
  refuseAboveMax: boolean;
}

export const DIRECTORY_PAGES: PageSizes = { default: 100, max: 999, refuseAboveMax: true };
export const OUTLOOK_PAGES: PageSizes = { default: 10, max: 1000, refuseAboveMax: false };

/** the request's query without the token, so a token is good only for the query it was issued for */
function queryKey(query: URLSearchParams): string {
  const rest = [...query].filter(([k]) => k !== '$skiptoken').sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify(rest)).digest('base64url').slice(0, 16);
}

const issue = (offset: number, query: URLSearchParams) => Buffer.from(JSON.stringify({ o: offset, q: queryKey(query) })).toString('base64url');

function offsetOf(token: string, query: URLSearchParams): number | null {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; q?: unknown };
    return Number.isInteger(parsed.o) && (parsed.o as number) >= 0 && parsed.q === queryKey(query) ? (parsed.o as number) : null;
  } catch {
    return null;
  }
}

/** One page of `items` (already filtered) as the body of the request's answer, with `@odata.nextLink` when more follow. */
export function page<T>(request: GraphRequest, items: T[], sizes: PageSizes, shape: (item: T) => unknown): GraphReply {
  const topText = request.query.get('$top');
  const top = topText === null ? sizes.default : Number(topText);
  if (top < 1 || (sizes.refuseAboveMax && top > sizes.max)) {
    return graphError(400, 'Request_UnsupportedQuery', `Invalid page size specified: '${topText}'. Must be between 1 and ${sizes.max} inclusive.`);
  }
  const cap = request.tenant.pageSize > 0 ? request.tenant.pageSize : sizes.max;
  const size = Math.min(top, sizes.max, cap);
  const token = request.query.get('$skiptoken');
  const offset = token === null ? 0 : offsetOf(token, request.query);
  if (offset === null) return graphError(400, 'BadRequest', `The $skiptoken is not one this service issued for this query: follow @odata.nextLink as it was given.`);
  const body: Record<string, unknown> = { value: items.slice(offset, offset + size).map(shape) };
  if (offset + size < items.length) {
    const next = new URL(request.url);
    next.searchParams.set('$skiptoken', issue(offset + size, request.query));
    // Graph writes the query options' `$` as is; the client parses the link as it was given
    body['@odata.nextLink'] = next.toString().replace(/%24/g, '$');
  }
  return { status: 200, body };
}
