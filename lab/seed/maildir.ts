/**
 * Writes messages straight into a Dovecot Maildir (LAYOUT=fs), which seeds
 * thousands of messages in seconds where IMAP APPEND would take minutes.
 * What Dovecot reads from the file system:
 *  - the file mtime is the INTERNALDATE;
 *  - `:2,<flags>` holds the system flags (capitals) and keyword letters
 *    (a–z, mapped to names in the folder's `dovecot-keywords`);
 *  - `S=` (file size) and `W=` (size with CRLF line ends, the IMAP size) spare it a read;
 *  - UIDs are assigned in file-name order, so names start with the date;
 *  - folder names are modified UTF-7 on disk.
 */
import { chown, mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAIL_GID, MAIL_UID } from '../config';

export type SystemFlag = '\\Seen' | '\\Flagged' | '\\Answered' | '\\Draft' | '\\Deleted';

const FLAG_LETTERS: Record<SystemFlag, string> = { '\\Draft': 'D', '\\Flagged': 'F', '\\Answered': 'R', '\\Seen': 'S', '\\Deleted': 'T' };

/** The keywords the lab uses, in letter order (a, b, …). */
export const KEYWORDS = ['$Project'] as const;
export type Keyword = (typeof KEYWORDS)[number];

/** RFC 3501 modified UTF-7, per path segment */
export function mutf7(name: string): string {
  return name.replace(/&/g, '&-').replace(/[^\x20-\x7e]+/g, (run) => {
    const utf16 = Buffer.alloc(run.length * 2);
    for (let i = 0; i < run.length; i++) utf16.writeUInt16BE(run.charCodeAt(i), i * 2);
    return `&${utf16.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
  });
}

export function folderDir(maildir: string, folder: string): string {
  return folder === 'INBOX' ? maildir : join(maildir, ...folder.split('/').map(mutf7));
}

async function ensureFolder(maildir: string, folder: string): Promise<string> {
  const dir = folderDir(maildir, folder);
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(dir, sub), { recursive: true });
  await writeFile(join(dir, 'dovecot-keywords'), KEYWORDS.map((k, i) => `${i} ${k}\n`).join(''));
  return dir;
}

export interface MaildirMessage {
  folder: string;
  bytes: Buffer;
  internalDate: Date;
  flags: SystemFlag[];
  keywords: Keyword[];
}

/** the size IMAP reports (RFC822.SIZE): LF line ends count as CRLF */
export function imapSize(bytes: Buffer): number {
  let lf = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) lf++;
  return bytes.length + lf;
}

/**
 * Writes `count` messages, creating folders (parents of nested ones too)
 * first. The index in each name keeps names unique within a second.
 */
export async function writeMaildir(
  maildir: string,
  folders: string[],
  count: number,
  build: (index: number) => MaildirMessage,
  concurrency = 4,
): Promise<{ bytes: number }> {
  const parents = new Set<string>();
  for (const f of folders) f.split('/').forEach((_, i, parts) => parents.add(parts.slice(0, i + 1).join('/')));
  const dirs = new Map<string, string>([['INBOX', await ensureFolder(maildir, 'INBOX')]]);
  for (const f of parents) dirs.set(f, await ensureFolder(maildir, f));

  let total = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      // built here, one at a time per worker: a 25 MB message is never held twice
      const m = build(i);
      const seconds = Math.floor(m.internalDate.getTime() / 1000);
      const size = imapSize(m.bytes);
      total += size;
      const flags = [...m.flags.map((f) => FLAG_LETTERS[f]), ...m.keywords.map((k) => String.fromCharCode(97 + KEYWORDS.indexOf(k)))]
        .sort()
        .join('');
      const name = `${seconds}.M${String(i).padStart(6, '0')}P1.mflab,S=${m.bytes.length},W=${size}:2,${flags}`;
      const file = join(dirs.get(m.folder) ?? maildir, 'cur', name);
      await writeFile(file, m.bytes);
      await utimes(file, m.internalDate, m.internalDate);
      await chown(file, MAIL_UID, MAIL_GID);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { bytes: total };
}

/** hands the tree to the mail uid (message files were chowned as written; this covers the rest) */
export async function chownTree(root: string): Promise<void> {
  await chown(root, MAIL_UID, MAIL_GID);
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isDirectory() || entry.name === 'dovecot-keywords') await chown(join(entry.parentPath, entry.name), MAIL_UID, MAIL_GID);
  }
}
