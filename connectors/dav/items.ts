/**
 * The items of one collection with their UIDs. PROPFIND lists every href (a
 * query REPORT would filter out items lacking the filtered property), then
 * multiget REPORTs fetch the data one page at a time, so a calendar of any
 * size is read in bounded memory.
 */
import type { DAVResponse } from 'tsdav';
import type { DavCollection, CollectionKind } from './collections';
import type { DavHttp } from './http';
import { itemUid } from './uid';

export interface DavItem {
  /** the path of the item on its server, as listed (percent-encoded) */
  href: string;
  /** the item's UID, or `href:<name>` for the rare item without one */
  uid: string;
  data: string;
}

/** One page of a collection: the items read, and the hrefs listed but not returned (gone, or unreadable). */
export interface DavPage {
  items: DavItem[];
  unreadable: string[];
}

/** items per multiget REPORT unless the copy asks for another page size */
export const PAGE = 200;

const QUERY: Record<CollectionKind, { report: string; dataProp: string; namespace: string }> = {
  calendar: { report: 'calendar-multiget', dataProp: 'c:calendar-data', namespace: 'c' },
  addressbook: { report: 'addressbook-multiget', dataProp: 'card:address-data', namespace: 'card' },
};

function dataOf(response: DAVResponse): string | null {
  const value: unknown = response.props?.calendarData ?? response.props?.addressData;
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const wrapped = (value as { _cdata?: unknown; _text?: unknown })._cdata ?? (value as { _text?: unknown })._text;
    if (typeof wrapped === 'string') return wrapped;
  }
  return null;
}

function nameOf(href: string): string {
  return decodeURIComponent(href.replace(/\/$/, '').split('/').pop() ?? href);
}

/** one spelling per item, whichever way the server encodes its hrefs */
function pathOf(http: DavHttp, href: string): string {
  return decodeURIComponent(new URL(http.absolute(href)).pathname);
}

/** The item paths of a collection, sorted: the order a checkpoint counts in. */
export async function listHrefs(http: DavHttp, collection: DavCollection): Promise<string[]> {
  const listing = await http.members(collection.url);
  return listing
    .filter((r) => r.href && http.absolute(r.href) !== collection.url && !r.collection)
    .map((r) => new URL(http.absolute(r.href)).pathname)
    .sort();
}

/** The items at `hrefs`, `pageSize` at a time (one multiget REPORT each), in the order given. */
export async function* itemPages(http: DavHttp, collection: DavCollection, hrefs: string[], pageSize = PAGE): AsyncGenerator<DavPage> {
  const { report, dataProp, namespace } = QUERY[collection.kind];
  for (let start = 0; start < hrefs.length; start += pageSize) {
    const wanted = hrefs.slice(start, start + pageSize);
    const body = {
      [report]: {
        _attributes: { 'xmlns:d': 'DAV:', 'xmlns:c': 'urn:ietf:params:xml:ns:caldav', 'xmlns:card': 'urn:ietf:params:xml:ns:carddav' },
        'd:prop': { 'd:getetag': {}, [dataProp]: {} },
        'd:href': wanted,
      },
    };
    const read = new Map<string, string>();
    for (const response of await http.request(collection.url, 'REPORT', body, namespace, '1')) {
      const data = dataOf(response);
      if (response.href && data !== null) read.set(pathOf(http, response.href), data);
    }
    const page: DavPage = { items: [], unreadable: [] };
    for (const href of wanted) {
      const data = read.get(pathOf(http, href));
      if (data === undefined) page.unreadable.push(href);
      else page.items.push({ href, uid: itemUid(data) ?? `href:${nameOf(href)}`, data });
    }
    yield page;
  }
}

/** The UIDs a collection holds, read page by page; only the UIDs are kept. */
export async function collectionUids(http: DavHttp, collection: DavCollection): Promise<Set<string>> {
  const uids = new Set<string>();
  for await (const page of itemPages(http, collection, await listHrefs(http, collection))) for (const item of page.items) uids.add(item.uid);
  return uids;
}

export function fileNameOf(item: DavItem): string {
  return nameOf(item.href);
}
