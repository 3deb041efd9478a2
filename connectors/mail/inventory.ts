/**
 * Reading what a folder holds: the cheap per-message facts (one FETCH of
 * UID, FLAGS, INTERNALDATE, RFC822.SIZE and ENVELOPE for the whole folder)
 * and, only where identity needs it, the SHA-256 of chosen bodies.
 */
import { createHash } from 'node:crypto';
import type { FetchMessageObject, ImapFlow } from 'imapflow';
import type { MessageMeta } from './identity';

function isoOrNull(value: Date | string | undefined): string | null {
  if (value === undefined) return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** \Recent is session state the server sets itself; it can be neither appended nor compared. */
export function storableFlags(flags: Set<string> | undefined): string[] {
  return [...(flags ?? [])].filter((f) => f.toLowerCase() !== '\\recent').sort();
}

export function metaOf(msg: FetchMessageObject): MessageMeta {
  const internal = msg.internalDate instanceof Date ? msg.internalDate : new Date(msg.internalDate ?? 0);
  return {
    uid: msg.uid,
    size: msg.size ?? 0,
    internalDate: internal.getTime(),
    messageId: msg.envelope?.messageId?.trim() || null,
    flags: storableFlags(msg.flags),
    subject: msg.envelope?.subject ?? null,
    date: isoOrNull(msg.envelope?.date),
  };
}

/** Every message of the selected folder, in UID order, without bodies. */
export async function fetchInventory(client: ImapFlow): Promise<MessageMeta[]> {
  const mailbox = client.mailbox;
  if (!mailbox || mailbox.exists === 0) return [];
  const out: MessageMeta[] = [];
  const query = { uid: true, flags: true, internalDate: true, size: true, envelope: true };
  for await (const msg of client.fetch('1:*', query, { uid: true })) out.push(metaOf(msg));
  return out.sort((a, b) => a.uid - b.uid);
}

export function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** SHA-256 of the raw bytes of the given UIDs of the selected folder, one body in memory at a time. */
export async function hashBodies(client: ImapFlow, uids: number[]): Promise<Map<number, string>> {
  const hashes = new Map<number, string>();
  if (uids.length === 0) return hashes;
  for await (const msg of client.fetch(uids, { uid: true, source: true }, { uid: true })) {
    if (msg.source) hashes.set(msg.uid, sha256(msg.source));
  }
  return hashes;
}
