/**
 * Lab users in bulk for the benchmark. `createOrgUser` waits out a second per
 * user (Dovecot re-reads its passwd-file at most once a second), so 1,000
 * users would take over 16 minutes; here the directory entries go in over a
 * few parallel connections, mail is written straight into the Maildirs, and
 * the passwd-file is written once, for one wait in all.
 */
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MAIL_GID, MAIL_UID, mailHome, paths } from '../lab/config';
import { writeAddressBook, writeCalendar } from '../lab/davStore';
import type { LabInfo } from '../lab/info';
import { upsertUsers, waitUntilReloadable } from '../lab/passwdFile';
import { chownTree, writeMaildir, type MaildirMessage } from '../lab/seed/maildir';
import { passwdLine } from '../lab/servers/dovecot';
import { createDirectoryEntries } from '../lab/users';

/** A small plain-text message (~1.5 KB), deterministic in (address, index). */
export function smallMessage(address: string, index: number): MaildirMessage {
  const date = new Date(Date.UTC(2024, 0, 1) + index * 61_000);
  const body = Array.from({ length: 20 }, (_, i) => `Line ${i + 1} of message ${index} for ${address}: the quick brown fox jumps.`).join(
    '\n',
  );
  const text = [
    `From: Bench Sender <sender-${index % 97}@example.test>`,
    `To: <${address}>`,
    `Subject: Bench message ${index}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <bench-${index}.${address}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    body,
    '',
  ].join('\n');
  return { folder: 'INBOX', bytes: Buffer.from(text), internalDate: date, flags: index % 3 === 0 ? [] : ['\\Seen'], keywords: [] };
}

/** The home and its parent owned by the mail uid, as Dovecot needs to write indexes. */
async function prepareHome(address: string): Promise<string> {
  const home = mailHome('onprem', address);
  await mkdir(home, { recursive: true });
  await chown(join(home, '..'), MAIL_UID, MAIL_GID);
  return home;
}

/** Writes `count` small messages into INBOX of an on-prem mailbox. */
export async function writeSmallMessages(address: string, count: number): Promise<number> {
  const home = await prepareHome(address);
  const { bytes } = await writeMaildir(join(home, 'Maildir'), ['INBOX'], count, (i) => smallMessage(address, i), 8);
  await chownTree(home);
  return bytes;
}

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/**
 * New users (addresses not yet in the lab) with `messages` small messages,
 * no contacts or events, an on-prem login and a cloud MEU each.
 */
export async function createUsersInBulk(info: LabInfo, addresses: string[], password: string, messages: number): Promise<void> {
  await inParallel(addresses, 8, async (address) => {
    await createDirectoryEntries(info, address, 'normal', true, password);
    await writeSmallMessages(address, messages);
    await writeAddressBook('onprem', address, []);
    await writeCalendar('onprem', address, []);
  });
  const logins = addresses.map((user) => ({ user, line: passwdLine(user, password, mailHome('onprem', user)) }));
  await upsertUsers(paths.dovecot('onprem').users, logins);
  await upsertUsers(
    paths.radicale('onprem').htpasswd,
    addresses.map((user) => ({ user, line: `${user}:${password}` })),
  );
  await waitUntilReloadable();
}
