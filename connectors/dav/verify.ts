/**
 * Counting and comparing a mailbox's contacts and events on two servers, by
 * UID per collection: what the verifier and the tests check a copy against.
 */
import { listCollections, type DavCollection } from './collections';
import { createDavHttp, type DavHttp } from './http';
import { collectionUids } from './items';
import type { DavCounts, DavDifference, DavEndpoint, DavVerification } from './types';

type UidsByCollection = Map<string, { kind: DavCollection['kind']; uids: Set<string> }>;

async function uidsByCollection(http: DavHttp, address: string): Promise<UidsByCollection> {
  const result: UidsByCollection = new Map();
  for (const collection of await listCollections(http, address)) {
    result.set(collection.name, { kind: collection.kind, uids: await collectionUids(http, collection) });
  }
  return result;
}

export async function countDav(endpoint: DavEndpoint, address: string): Promise<DavCounts> {
  const counts: DavCounts = { contacts: 0, events: 0 };
  for (const { kind, uids } of (await uidsByCollection(createDavHttp(endpoint), address)).values()) {
    counts[kind === 'calendar' ? 'events' : 'contacts'] += uids.size;
  }
  return counts;
}

export async function verifyDav(source: DavEndpoint, target: DavEndpoint, address: string): Promise<DavVerification> {
  const [from, to] = await Promise.all([uidsByCollection(createDavHttp(source), address), uidsByCollection(createDavHttp(target), address)]);
  const result: DavVerification = { contacts: { missing: [], extra: [] }, events: { missing: [], extra: [] } };
  const side = (kind: DavCollection['kind']): DavDifference => result[kind === 'calendar' ? 'events' : 'contacts'];
  for (const [name, { kind, uids }] of from) {
    const copied = to.get(name)?.uids ?? new Set<string>();
    side(kind).missing.push(...[...uids].filter((uid) => !copied.has(uid)));
  }
  for (const [name, { kind, uids }] of to) {
    const original = from.get(name)?.uids ?? new Set<string>();
    side(kind).extra.push(...[...uids].filter((uid) => !original.has(uid)));
  }
  return result;
}
