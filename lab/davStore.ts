/**
 * Writes address books and calendars straight into Radicale's storage folder
 * (multifilesystem: one directory per collection, a `.Radicale.props` JSON
 * file, one file per item named by its href). Radicale validates items and
 * rebuilds its cache from the files, so this is as good as PUT, and fast.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
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

export async function removePrincipal(side: Side, address: string): Promise<void> {
  await rm(principalDir(side, address), { recursive: true, force: true });
}
