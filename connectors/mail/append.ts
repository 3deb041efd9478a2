/**
 * Storing messages on the target with their flags and INTERNALDATE.
 *
 * The target's APPEND path dominates a copy, and imapflow keeps one command
 * in flight per connection, so a round trip (and a server-side transaction)
 * per message is what limits throughput. MULTIAPPEND (RFC 3502) sends a
 * group in one command, with LITERAL+ in one write, and the server commits
 * it in one transaction. It is all-or-nothing: when the server refuses a
 * group, the caller re-sends it one message at a time to find the culprit.
 */
import type { ImapFlow } from 'imapflow';
import { encodePath, formatDateTime, formatFlag } from 'imapflow/lib/tools';
import { imapErrorOf } from './connect';
import { uidSet } from './copyMap';
import { isThrottled } from './throttle';

export interface AppendItem {
  body: Buffer;
  flags: string[];
  internalDate: Date;
}

/** The server refused the APPEND (a tagged NO/BAD): the data, not the connection, is the problem. */
export class AppendRejected extends Error {
  constructor(readonly serverText: string) {
    super(`the target refused the message: ${serverText}`);
    this.name = 'AppendRejected';
  }
}

interface Attribute {
  type: 'ATOM' | 'STRING' | 'LITERAL';
  value: string | Buffer;
  isLiteral8?: boolean;
}
/** exec() parks the reader until next() is called, so the caller must always release it. */
type Exec = (
  command: string,
  attributes: Array<Attribute | Attribute[]>,
) => Promise<{ next: () => void; response?: { attributes?: Array<{ section?: Array<{ value?: unknown }> }> } }>;

/** The target UIDs the server gave the appended messages (UIDPLUS), under its folder's UIDVALIDITY. */
export interface Appended {
  uidValidity: string;
  uids: number[];
}

function messageAttributes(client: ImapFlow, item: AppendItem): Array<Attribute | Attribute[]> {
  const flags = item.flags.map((f) => formatFlag(f)).filter((f): f is string => !!f);
  // BINARY literal8 for bodies with NUL bytes, as imapflow's own append does.
  const isLiteral8 = client.capabilities.has('BINARY') && item.body.includes(0);
  return [
    flags.map((value): Attribute => ({ type: 'ATOM', value })),
    { type: 'STRING', value: formatDateTime(item.internalDate) ?? '' },
    { type: 'LITERAL', value: item.body, isLiteral8 },
  ];
}

function rejectedOrRethrow(err: unknown): never {
  const e = imapErrorOf(err) as { responseStatus?: string; responseText?: string; serverResponseCode?: string };
  // a throttled APPEND is a NO too, but about the server's load: the message is sent again after the backoff
  if (isThrottled(err)) throw err;
  if (e.responseStatus === 'NO' || e.responseStatus === 'BAD' || e.serverResponseCode === 'APPENDLIMIT') {
    throw new AppendRejected(e.responseText || (err as Error).message);
  }
  throw err;
}

/**
 * Appends every item to `nativePath` in one MULTIAPPEND, all or nothing;
 * throws AppendRejected when the server says no. The caller appends one at a
 * time where the server lacks MULTIAPPEND: a loop here would leave the
 * messages before a refused one appended, and the caller would send them again.
 */
export async function appendGroup(client: ImapFlow, nativePath: string, items: AppendItem[]): Promise<Appended | null> {
  if (items.length === 0) return null;
  // exec() is imapflow's internal command entry point; its public append() takes one message.
  const exec = (client as unknown as { exec: Exec }).exec.bind(client);
  const attributes: Array<Attribute | Attribute[]> = [{ type: 'ATOM', value: encodePath(client, nativePath) }];
  for (const item of items) attributes.push(...messageAttributes(client, item));
  try {
    const response = await exec('APPEND', attributes);
    response.next();
    // [APPENDUID <uidvalidity> <uid-set>] in the tagged OK
    const [code, uidValidity, set] = (response.response?.attributes?.[0]?.section ?? []).map((a) => String(a.value ?? ''));
    const uids = code?.toUpperCase() === 'APPENDUID' && uidValidity && set ? uidSet(set) : [];
    return uids.length === items.length ? { uidValidity: uidValidity!, uids } : null;
  } catch (err) {
    rejectedOrRethrow(err);
  }
}

export async function appendOne(client: ImapFlow, nativePath: string, item: AppendItem): Promise<Appended | null> {
  try {
    const res = await client.append(nativePath, item.body, item.flags, item.internalDate);
    // imapflow resolves false/undefined when it did not send the command at all (not logged in).
    if (!res) throw Object.assign(new Error('APPEND was not sent: the session is not usable'), { code: 'NoConnection' });
    // imapflow guesses a UID by SEARCH without UIDPLUS; only the server's APPENDUID carries UIDVALIDITY
    return res.uid && res.uidValidity ? { uidValidity: String(res.uidValidity), uids: [res.uid] } : null;
  } catch (err) {
    rejectedOrRethrow(err);
  }
}
