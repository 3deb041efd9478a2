/**
 * The address books and calendars under a mailbox's principal collection, and
 * creating their counterparts on the target with the same name and properties.
 */
import { MailferryError } from '../../shared/errors';
import type { DavHttp } from './http';

export type CollectionKind = 'addressbook' | 'calendar';

export interface DavCollection {
  kind: CollectionKind;
  /** last path segment, e.g. `contacts`; the target collection gets the same one */
  name: string;
  url: string;
  displayName: string | null;
  /** VEVENT, VTODO… (calendars only) */
  components: string[];
}

const COLLECTION_PROPS = {
  'd:resourcetype': {},
  'd:displayname': {},
  'c:supported-calendar-component-set': {},
};

function kindOf(resourceType: unknown): CollectionKind | null {
  if (typeof resourceType !== 'object' || resourceType === null) return null;
  if ('calendar' in resourceType) return 'calendar';
  if ('addressbook' in resourceType) return 'addressbook';
  return null;
}

function componentsOf(set: unknown): string[] {
  const comp = (set as { comp?: unknown } | undefined)?.comp;
  const list = Array.isArray(comp) ? comp : comp === undefined ? [] : [comp];
  return list.map((c) => (c as { _attributes?: { name?: string } })._attributes?.name).filter((n): n is string => typeof n === 'string');
}

function lastSegment(url: string): string {
  const parts = new URL(url).pathname.split('/').filter(Boolean);
  return decodeURIComponent(parts[parts.length - 1] ?? '');
}

export async function listCollections(http: DavHttp, address: string): Promise<DavCollection[]> {
  const home = http.home(address);
  const responses = await http.propfind(home, '1', COLLECTION_PROPS);
  const collections: DavCollection[] = [];
  for (const response of responses) {
    const kind = kindOf(response.props?.resourcetype);
    if (!kind || !response.href) continue;
    const url = http.absolute(response.href);
    const displayName = response.props?.displayname;
    collections.push({
      kind,
      name: lastSegment(url),
      url: url.endsWith('/') ? url : `${url}/`,
      displayName: displayName === undefined || displayName === null || typeof displayName === 'object' ? null : String(displayName),
      components: componentsOf(response.props?.supportedCalendarComponentSet),
    });
  }
  return collections;
}

/** The mailbox's principal collection: servers refuse (409) to create a collection under a missing parent. */
async function ensureHome(http: DavHttp, address: string): Promise<void> {
  const home = http.home(address);
  if ((await http.propfind(home, '0', { 'd:resourcetype': {} })).length === 0) await http.request(home, 'MKCOL', undefined, 'd');
}

/** The target collection matching `source`, created (with its parent) when missing. Returns its URL. */
export async function ensureCollection(http: DavHttp, address: string, source: DavCollection): Promise<string> {
  await ensureHome(http, address);
  const url = `${http.home(address)}${encodeURIComponent(source.name)}/`;
  const [existing] = await http.propfind(url, '0', COLLECTION_PROPS);
  if (existing) {
    const kind = kindOf(existing.props?.resourcetype);
    if (kind !== source.kind) {
      throw new MailferryError('COPY_FAILED', `The target already holds ${url}, but it is not a ${source.kind}; rename or remove it, then resume the row.`);
    }
    return url;
  }
  const displayName = source.displayName === null ? {} : { 'd:displayname': source.displayName };
  if (source.kind === 'calendar') {
    const components = source.components.length > 0 ? { 'c:supported-calendar-component-set': { 'c:comp': source.components.map((name) => ({ _attributes: { name } })) } } : {};
    await http.request(url, 'MKCALENDAR', mkBody('c:mkcalendar', { ...displayName, ...components }), 'd');
  } else {
    // extended MKCOL (RFC 5689): the only standard way to create an address book
    await http.request(url, 'MKCOL', mkBody('mkcol', { 'd:resourcetype': { 'd:collection': {}, 'card:addressbook': {} }, ...displayName }), 'd');
  }
  return url;
}

function mkBody(root: string, props: Record<string, unknown>): Record<string, unknown> {
  return {
    [root]: {
      _attributes: { 'xmlns:d': 'DAV:', 'xmlns:c': 'urn:ietf:params:xml:ns:caldav', 'xmlns:card': 'urn:ietf:params:xml:ns:carddav' },
      set: { prop: props },
    },
  };
}
