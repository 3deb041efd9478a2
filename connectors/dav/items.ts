/**
 * The items of one collection with their UIDs. PROPFIND lists every href (a
 * query REPORT would filter out items lacking the filtered property), then
 * multiget REPORTs fetch the data in pages.
 */
import type { DAVResponse } from 'tsdav';
import type { DavCollection, CollectionKind } from './collections';
import type { DavHttp } from './http';
import { itemUid } from './uid';

export interface DavItem {
  href: string;
  /** the item's UID, or `href:<name>` for the rare item without one */
  uid: string;
  data: string;
}

const PAGE = 200;

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

function isCollection(resourceType: unknown): boolean {
  return typeof resourceType === 'object' && resourceType !== null && 'collection' in resourceType;
}

function nameOf(href: string): string {
  return decodeURIComponent(href.replace(/\/$/, '').split('/').pop() ?? href);
}

export async function listItems(http: DavHttp, collection: DavCollection): Promise<DavItem[]> {
  const listing = await http.propfind(collection.url, '1', { 'd:getetag': {}, 'd:resourcetype': {} });
  const hrefs = listing
    .filter((r) => r.href && http.absolute(r.href) !== collection.url && !isCollection(r.props?.resourcetype))
    .map((r) => new URL(http.absolute(r.href as string)).pathname);
  const { report, dataProp, namespace } = QUERY[collection.kind];
  const items: DavItem[] = [];
  for (let start = 0; start < hrefs.length; start += PAGE) {
    const body = {
      [report]: {
        _attributes: { 'xmlns:d': 'DAV:', 'xmlns:c': 'urn:ietf:params:xml:ns:caldav', 'xmlns:card': 'urn:ietf:params:xml:ns:carddav' },
        'd:prop': { 'd:getetag': {}, [dataProp]: {} },
        'd:href': hrefs.slice(start, start + PAGE),
      },
    };
    for (const response of await http.request(collection.url, 'REPORT', body, namespace, '1')) {
      const data = dataOf(response);
      if (!response.href || data === null) continue;
      items.push({ href: response.href, uid: itemUid(data) ?? `href:${nameOf(response.href)}`, data });
    }
  }
  return items;
}

export function fileNameOf(item: DavItem): string {
  return nameOf(item.href);
}
