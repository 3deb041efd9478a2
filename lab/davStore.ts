/**
 * Writes address books and calendars straight into Radicale's storage folder
 * (multifilesystem: one directory per collection, a `.Radicale.props` JSON
 * file, one file per item named by its href). Radicale validates items and
 * rebuilds its cache from the files, so this is as good as PUT, and fast.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { paths, Side } from './config';
import type { PimItem } from './seed/pim';

export const CONTACTS_COLLECTION = 'contacts';
export const CALENDAR_COLLECTION = 'calendar';

const root = (side: Side) => join(paths.radicale(side).collections, 'collection-root');

/** the directory of `/<address>/`; addresses are lower-cased as Radicale's users are */
export function principalDir(side: Side, address: string): string {
  return join(root(side), address.toLowerCase());
}

async function writeCollection(dir: string, props: Record<string, string>, items: PimItem[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, '.Radicale.props'), JSON.stringify(props));
  for (const item of items) await writeFile(join(dir, item.href), item.text);
}

export async function writeAddressBook(side: Side, address: string, items: PimItem[]): Promise<void> {
  await writeCollection(join(principalDir(side, address), CONTACTS_COLLECTION), { tag: 'VADDRESSBOOK', 'D:displayname': 'Contacts' }, items);
}

export async function writeCalendar(side: Side, address: string, items: PimItem[]): Promise<void> {
  await writeCollection(
    join(principalDir(side, address), CALENDAR_COLLECTION),
    { tag: 'VCALENDAR', 'D:displayname': 'Calendar', 'C:supported-calendar-component-set': 'VEVENT,VTODO,VJOURNAL' },
    items,
  );
}

/**
 * A running Radicale may write its item cache into a collection while it is
 * being removed (rmdir then fails with ENOTEMPTY): move the principal out of
 * the collection root in one rename first, so no request reaches it any more,
 * then remove it, retrying while a request already under way finishes.
 */
export async function removePrincipal(side: Side, address: string): Promise<void> {
  const trash = join(paths.radicale(side).collections, `.removed-${randomUUID()}`);
  try {
    await rename(principalDir(side, address), trash);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await rm(trash, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}
