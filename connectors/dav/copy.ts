/**
 * Copies a mailbox's address books and calendars by UID: an item whose UID the
 * target collection already holds is left alone, so a second run copies
 * nothing. The source is read a page at a time and only the target's UIDs are
 * kept, so memory stays bounded whatever the calendar's size. After every
 * group of items put at once the copy reports a checkpoint; given back, it
 * continues after the group's last item.
 * One item the target refuses is a bad item, listed and counted; only more
 * than the bad-item limit fails the copy.
 */
import { randomUUID } from 'node:crypto';
import { MailferryError } from '../../shared/errors';
import { ensureCollection, listCollections, type CollectionKind, type DavCollection } from './collections';
import { createDavHttp, type DavHttp, type PutOutcome } from './http';
import { collectionUids, fileNameOf, itemPages, listHrefs, type DavItem } from './items';
import { itemSummary, itemUid } from './uid';
import type { DavBadItem, DavCheckpoint, DavCopier, DavCopyOptions, DavCopyResult, DavEndpoint } from './types';

const CONTENT_TYPE: Record<CollectionKind, string> = {
  calendar: 'text/calendar; charset=utf-8',
  addressbook: 'text/vcard; charset=utf-8',
};

const DEFAULT_BAD_ITEM_LIMIT = 50;

/** BAD_ITEM_LIMIT, carrying the items so the row's report can list them. */
export class DavBadItemLimitError extends MailferryError {
  constructor(
    readonly badItems: DavBadItem[],
    limit: number,
  ) {
    const last = badItems[badItems.length - 1];
    super(
      'BAD_ITEM_LIMIT',
      `${badItems.length} contacts or events could not be copied (limit ${limit}); the last one, ${last?.uid} in ${last?.collection}: ${last?.answer}`,
    );
  }
}

export const emptyResult = (): DavCopyResult => ({
  contacts: { source: 0, copied: 0, existing: 0 },
  events: { source: 0, copied: 0, existing: 0 },
  badItems: [],
});

export type Placed = 'copied' | 'existing' | { refused: string };

/**
 * PUT under the source's file name; when that name is taken, by the same UID
 * (an earlier attempt got there) it is already copied, else a fresh name.
 * A UID conflict (CalDAV/CardDAV `no-uid-conflict`) means the target holds the
 * item under another name: already copied too, never a duplicate.
 */
async function place(to: DavHttp, targetUrl: string, kind: CollectionKind, item: DavItem): Promise<Placed> {
  const outcome = (o: PutOutcome): Placed | null => {
    if (o.kind === 'created') return 'copied';
    if (o.kind === 'refused') return /no-uid-conflict/.test(o.answer) ? 'existing' : { refused: o.answer };
    return null;
  };
  const named = `${targetUrl}${encodeURIComponent(fileNameOf(item))}`;
  const first = outcome(await to.putNew(named, item.data, CONTENT_TYPE[kind]));
  if (first) return first;
  const there = await to.get(named);
  if (there !== null && itemUid(there) === item.uid) return 'existing';
  const fresh = outcome(await to.putNew(`${targetUrl}${randomUUID()}${kind === 'calendar' ? '.ics' : '.vcf'}`, item.data, CONTENT_TYPE[kind]));
  if (fresh) return fresh;
  throw new MailferryError('COPY_FAILED', `Could not create ${item.uid} in ${targetUrl}: every file name tried was taken.`, { permanent: false });
}

/** Where a source collection's items go: `place` puts one item there (or finds it already there). */
export interface PimTargetCollection {
  /** may add to `result` what only this target counts (attendees kept off events) */
  place(item: DavItem, result: DavCopyResult): Promise<Placed>;
}

/** A target for contacts and calendars: the cloud DAV server, or Microsoft Graph (connectors/m365/pim). */
export interface PimTarget {
  open(collection: DavCollection): Promise<PimTargetCollection>;
  /** items placed at once; the checkpoint moves after each group (default 1) */
  concurrency?: number;
}

/**
 * Walks the source's collections page by page into `target`, checkpointing
 * after every item (or group of `target.concurrency` items), and lists what
 * the target refuses as bad items up to the limit.
 */
export async function copyToTarget(source: DavEndpoint, address: string, target: PimTarget, options: DavCopyOptions = {}): Promise<DavCopyResult> {
  const from = createDavHttp(source);
  const limit = options.badItemLimit ?? DEFAULT_BAD_ITEM_LIMIT;
  // a private copy: the caller's checkpoint must not change under it
  const checkpoint: DavCheckpoint = structuredClone(options.checkpoint ?? { done: [], result: emptyResult() });
  const { result } = checkpoint;
  const report = () => options.onProgress?.(structuredClone(checkpoint));

  const bad = (collection: DavCollection, item: Pick<DavItem, 'uid' | 'data'>, answer: string) => {
    // this one passes the limit and the copy fails: a resume starts just before it, whatever its group did after it
    if (result.badItems.length >= limit) report();
    result.badItems.push({ kind: collection.kind === 'addressbook' ? 'contact' : 'event', collection: collection.name, uid: item.uid, summary: itemSummary(item.data), answer });
    if (result.badItems.length > limit) throw new DavBadItemLimitError(result.badItems, limit);
  };

  const collections = (await listCollections(from, address)).sort((a, b) => a.name.localeCompare(b.name));
  for (const collection of collections) {
    if (checkpoint.done.includes(collection.name)) continue;
    const counts = collection.kind === 'calendar' ? result.events : result.contacts;
    const to = await target.open(collection);
    const after = checkpoint.current?.collection === collection.name ? checkpoint.current.after : null;
    const hrefs = (await listHrefs(from, collection)).filter((href) => after === null || href > after);
    for await (const page of itemPages(from, collection, hrefs, options.pageSize)) {
      const unreadable = new Set(page.unreadable);
      // the page's hrefs in order, so the checkpoint never passes an item not yet handled
      const byHref = new Map(page.items.map((item) => [item.href, item]));
      const ordered = [...page.items.map((i) => i.href), ...page.unreadable].sort();
      const group = Math.max(1, target.concurrency ?? 1);
      for (let start = 0; start < ordered.length; start += group) {
        options.signal?.throwIfAborted();
        const slice = ordered.slice(start, start + group);
        const outcomes = await Promise.all(
          slice.map(async (href) => {
            const item = byHref.get(href);
            if (!item || unreadable.has(href)) return { href, item: undefined, placed: undefined };
            return { href, item, placed: await to.place(item, result) };
          }),
        );
        for (const { href, item, placed } of outcomes) {
          if (!item || !placed) bad(collection, { uid: `href:${href}`, data: '' }, 'listed by the source, but not returned by its multiget REPORT');
          else if (placed === 'copied') counts.copied += 1;
          else if (placed === 'existing') counts.existing += 1;
          else bad(collection, item, placed.refused);
          counts.source += 1;
          checkpoint.current = { collection: collection.name, after: href };
        }
        report();
      }
    }
    checkpoint.done.push(collection.name);
    delete checkpoint.current;
    report();
  }
  return result;
}

/**
 * PUTs under way at once into a DAV target: a server parses an item before it
 * takes its write lock (Radicale does), so a few at once keep both busy while
 * each waits on the other; the checkpoint is reported after a whole group.
 */
export const DAV_TARGET_CONCURRENCY = 4;

/** The cloud DAV server as a target: the item's UID already there is left alone. */
function davTarget(target: DavEndpoint, address: string): PimTarget {
  const to = createDavHttp(target);
  return {
    concurrency: DAV_TARGET_CONCURRENCY,
    async open(collection) {
      const targetUrl = await ensureCollection(to, address, collection);
      const present = await collectionUids(to, { ...collection, url: targetUrl });
      return {
        async place(item) {
          if (present.has(item.uid)) return 'existing';
          const placed = await place(to, targetUrl, collection.kind, item);
          if (typeof placed !== 'object') present.add(item.uid);
          return placed;
        },
      };
    },
  };
}

export function createDavCopier(): DavCopier {
  return {
    copyDav: (source, target, address, options) => copyToTarget(source, address, davTarget(target, address), options),
    holdsItems: async (source, address) => {
      const http = createDavHttp(source);
      for (const collection of await listCollections(http, address)) if ((await listHrefs(http, collection)).length > 0) return true;
      return false;
    },
  };
}
