/**
 * Copies a mailbox's address books and calendars by UID: an item whose UID the
 * target collection already holds is left alone, so a second run copies
 * nothing. The source is read a page at a time and only the target's UIDs are
 * kept, so memory stays bounded whatever the calendar's size. After every item
 * the copy reports a checkpoint; given back, it continues after that item.
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

const emptyResult = (): DavCopyResult => ({
  contacts: { source: 0, copied: 0, existing: 0 },
  events: { source: 0, copied: 0, existing: 0 },
  badItems: [],
});

type Placed = 'copied' | 'existing' | { refused: string };

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

export function createDavCopier(): DavCopier {
  return {
    async copyDav(source: DavEndpoint, target: DavEndpoint, address: string, options: DavCopyOptions = {}): Promise<DavCopyResult> {
      const from = createDavHttp(source);
      const to = createDavHttp(target);
      const limit = options.badItemLimit ?? DEFAULT_BAD_ITEM_LIMIT;
      // a private copy: the caller's checkpoint must not change under it
      const checkpoint: DavCheckpoint = structuredClone(options.checkpoint ?? { done: [], result: emptyResult() });
      const { result } = checkpoint;
      const report = () => options.onProgress?.(structuredClone(checkpoint));

      const bad = (collection: DavCollection, item: Pick<DavItem, 'uid' | 'data'>, answer: string) => {
        result.badItems.push({ kind: collection.kind === 'addressbook' ? 'contact' : 'event', collection: collection.name, uid: item.uid, summary: itemSummary(item.data), answer });
        if (result.badItems.length > limit) throw new DavBadItemLimitError(result.badItems, limit);
      };

      const collections = (await listCollections(from, address)).sort((a, b) => a.name.localeCompare(b.name));
      for (const collection of collections) {
        if (checkpoint.done.includes(collection.name)) continue;
        const counts = collection.kind === 'calendar' ? result.events : result.contacts;
        const targetUrl = await ensureCollection(to, address, collection);
        const present = await collectionUids(to, { ...collection, url: targetUrl });
        const after = checkpoint.current?.collection === collection.name ? checkpoint.current.after : null;
        const hrefs = (await listHrefs(from, collection)).filter((href) => after === null || href > after);
        for await (const page of itemPages(from, collection, hrefs)) {
          const unreadable = new Set(page.unreadable);
          // the page's hrefs in order, so the checkpoint never passes an item not yet handled
          const byHref = new Map(page.items.map((item) => [item.href, item]));
          for (const href of [...page.items.map((i) => i.href), ...page.unreadable].sort()) {
            options.signal?.throwIfAborted();
            const item = byHref.get(href);
            counts.source += 1;
            if (!item || unreadable.has(href)) bad(collection, { uid: `href:${href}`, data: '' }, 'listed by the source, but not returned by its multiget REPORT');
            else if (present.has(item.uid)) counts.existing += 1;
            else {
              const placed = await place(to, targetUrl, collection.kind, item);
              if (placed === 'copied') counts.copied += 1;
              else if (placed === 'existing') counts.existing += 1;
              if (typeof placed === 'object') bad(collection, item, placed.refused);
              else present.add(item.uid);
            }
            checkpoint.current = { collection: collection.name, after: href };
            report();
          }
        }
        checkpoint.done.push(collection.name);
        delete checkpoint.current;
        report();
      }
      return result;
    },
  };
}
