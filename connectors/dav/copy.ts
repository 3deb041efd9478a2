/**
 * Copies a mailbox's address books and calendars by UID: an item whose UID the
 * target collection already holds is left alone, so a second run copies
 * nothing and a resumed run continues where the last one stopped.
 */
import { randomUUID } from 'node:crypto';
import { MailferryError } from '../../shared/errors';
import { ensureCollection, listCollections, type CollectionKind } from './collections';
import { createDavHttp } from './http';
import { fileNameOf, listItems } from './items';
import type { DavCopier, DavCopyResult, DavEndpoint } from './types';

const CONTENT_TYPE: Record<CollectionKind, string> = {
  calendar: 'text/calendar; charset=utf-8',
  addressbook: 'text/vcard; charset=utf-8',
};

export function createDavCopier(): DavCopier {
  return {
    async copyDav(source: DavEndpoint, target: DavEndpoint, address: string): Promise<DavCopyResult> {
      const from = createDavHttp(source);
      const to = createDavHttp(target);
      const result: DavCopyResult = {
        contacts: { source: 0, copied: 0, existing: 0 },
        events: { source: 0, copied: 0, existing: 0 },
      };
      for (const collection of await listCollections(from, address)) {
        const counts = collection.kind === 'calendar' ? result.events : result.contacts;
        const items = await listItems(from, collection);
        counts.source += items.length;
        const targetUrl = await ensureCollection(to, address, collection);
        const present = new Set((await listItems(to, { ...collection, url: targetUrl })).map((i) => i.uid));
        for (const item of items) {
          if (present.has(item.uid)) {
            counts.existing += 1;
            continue;
          }
          const contentType = CONTENT_TYPE[collection.kind];
          // the source's file name normally is free; if another item holds it, a fresh name avoids overwriting that item
          const created =
            (await to.putNew(`${targetUrl}${encodeURIComponent(fileNameOf(item))}`, item.data, contentType)) ||
            (await to.putNew(`${targetUrl}${randomUUID()}${collection.kind === 'calendar' ? '.ics' : '.vcf'}`, item.data, contentType));
          if (!created) throw new MailferryError('COPY_FAILED', `Could not create ${item.uid} in ${targetUrl}: every file name tried was taken.`);
          counts.copied += 1;
          present.add(item.uid);
        }
      }
      return result;
    },
  };
}
