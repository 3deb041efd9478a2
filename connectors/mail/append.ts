/**
 * Storing messages on the target with their flags and INTERNALDATE.
 *
 * The target's APPEND path dominates a copy, and imapflow keeps one command
 * in flight per connection, so a round trip (and a server-side transaction)
 * per message is what limits throughput. MULTIAPPEND (RFC 3502) sends a
 * group in one command, and the server commits it in one transaction. It is
 * all-or-nothing: when the server refuses a group, the caller re-sends it one
 * message at a time to find the culprit.
 */
import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImapFlow } from 'imapflow';
import compile from 'imapflow/lib/handler/imap-compiler';
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

/** A message body kept in a file (a large message, see spill.ts): its exact size and whether it holds NUL bytes. */
export interface SpilledBody {
  path: string;
  size: number;
  hasNul: boolean;
}

interface Attribute {
  type: 'ATOM' | 'STRING' | 'LITERAL' | 'TEXT';
  value: string | Buffer;
  isLiteral8?: boolean;
}
/** exec() parks the reader until next() is called, so the caller must always release it. */
type Exec = (
  command: string,
  attributes: Array<Attribute | Attribute[]>,
  options?: { onPlusTag?: () => Promise<void>; onSend?: () => void },
) => Promise<ExecResponse>;
interface ExecResponse {
  next: () => void;
  response?: { attributes?: Array<{ section?: Array<{ value?: unknown }> }> };
}

/** exec() is imapflow's internal command entry point; its public append() takes one message, whole. */
function execOf(client: ImapFlow): Exec {
  return (client as unknown as { exec: Exec }).exec.bind(client);
}

/** The target UIDs the server gave the appended messages (UIDPLUS), under its folder's UIDVALIDITY. */
export interface Appended {
  uidValidity: string;
  uids: number[];
}

function flagsAndDate(item: { flags: string[]; internalDate: Date }): Array<Attribute | Attribute[]> {
  const flags = item.flags.map((f) => formatFlag(f)).filter((f): f is string => !!f);
  return [flags.map((value): Attribute => ({ type: 'ATOM', value })), { type: 'STRING', value: formatDateTime(item.internalDate) ?? '' }];
}

function messageAttributes(client: ImapFlow, item: AppendItem): Array<Attribute | Attribute[]> {
  // BINARY literal8 for bodies with NUL bytes, as imapflow's own append does.
  const isLiteral8 = client.capabilities.has('BINARY') && item.body.includes(0);
  return [...flagsAndDate(item), { type: 'LITERAL', value: item.body, isLiteral8 }];
}

/** [APPENDUID <uidvalidity> <uid-set>] in the tagged OK, when it names as many UIDs as messages were sent */
function appendedOf(response: ExecResponse, count: number): Appended | null {
  const [code, uidValidity, set] = (response.response?.attributes?.[0]?.section ?? []).map((a) => String(a.value ?? ''));
  const uids = code?.toUpperCase() === 'APPENDUID' && uidValidity && set ? uidSet(set) : [];
  return uids.length === count ? { uidValidity: uidValidity!, uids } : null;
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
  const mailbox: Attribute = { type: 'ATOM', value: encodePath(client, nativePath) };
  try {
    const response = client.capabilities.has('LITERAL+')
      ? await appendGroupPlus(client, mailbox, items)
      : await execOf(client)('APPEND', [mailbox, ...items.flatMap((item) => messageAttributes(client, item))]);
    response.next();
    return appendedOf(response, items.length);
  } catch (err) {
    rejectedOrRethrow(err);
  }
}

const SPACE = Buffer.from(' ');
const CRLF = Buffer.from('\r\n');

/**
 * The group with non-synchronising literals (LITERAL+, RFC 7888), written in
 * one go. imapflow sends a literal above 4 KB as a synchronising one, so a
 * group of 50 waited for 50 continuations from the server, and its compiler
 * copied every body into the command it builds. Here imapflow sends the
 * command line up to the first literal's size, and onSend (called once that
 * is on the wire) writes the bodies as they are, with the text between them,
 * to imapflow's write socket; the tagged answer comes back through imapflow.
 */
function appendGroupPlus(client: ImapFlow, mailbox: Attribute, items: AppendItem[]): Promise<ExecResponse> {
  const binary = client.capabilities.has('BINARY');
  const marker = (item: AppendItem): Attribute => ({ type: 'TEXT', value: `${binary && item.body.includes(0) ? '~' : ''}{${item.body.length}+}` });
  const [first, ...rest] = items;
  const frames: Buffer[] = [first!.body];
  for (const item of rest) frames.push(Buffer.concat([SPACE, compile({ attributes: [...flagsAndDate(item), marker(item)] }), CRLF]), item.body);
  frames.push(CRLF);
  const onSend = () => {
    const socket = (client as unknown as { writeSocket: Writable }).writeSocket;
    socket.cork();
    for (const frame of frames) socket.write(frame);
    socket.uncork();
  };
  return execOf(client)('APPEND', [mailbox, ...flagsAndDate(first!), marker(first!)], { onSend });
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

const FILE_CHUNK_BYTES = 256 * 1024;

/**
 * APPENDs one message from a file, a chunk at a time, so a 100 MB message
 * costs the copier a chunk of memory, not 100 MB. imapflow's append() takes
 * only a whole Buffer: IMAP announces a literal's exact size before its
 * first byte, so an arbitrary stream cannot be sent (its maintainer, in
 * postalsys/imapflow#32); a file knows its size. The command runs on
 * imapflow's own session through exec(): the literal's size goes out as
 * verbatim text (so imapflow does not send a literal of its own), the
 * server's "+" continuation reaches onPlusTag, and that writes the file to
 * imapflow's write socket and ends the command line. A server that will not
 * take it answers NO instead of "+", and nothing is sent.
 */
export async function appendFile(
  client: ImapFlow,
  nativePath: string,
  item: { file: SpilledBody; flags: string[]; internalDate: Date },
): Promise<Appended | null> {
  const literal8 = client.capabilities.has('BINARY') && item.file.hasNul;
  const attributes: Array<Attribute | Attribute[]> = [
    { type: 'ATOM', value: encodePath(client, nativePath) },
    ...flagsAndDate(item),
    { type: 'TEXT', value: `${literal8 ? '~' : ''}{${item.file.size}}` },
  ];
  let failure: unknown;
  const onPlusTag = async () => {
    try {
      const socket = (client as unknown as { writeSocket: Writable }).writeSocket;
      // pipeline waits for the socket to drain, and leaves it open (end: false) for the command's end
      await pipeline(createReadStream(item.file.path, { highWaterMark: FILE_CHUNK_BYTES }), socket, { end: false });
      socket.write('\r\n');
    } catch (err) {
      // the literal is cut short: the session is out of step with the server, so it goes
      failure = err;
      client.close();
    }
  };
  try {
    const response = await execOf(client)('APPEND', attributes, { onPlusTag });
    response.next();
    return appendedOf(response, 1);
  } catch (err) {
    if (failure) throw failure;
    rejectedOrRethrow(err);
  }
}
