/**
 * Targets that are not Dovecot, made from Dovecot: an IMAP relay in front of
 * the real server that can
 * - rewrite what it stores, as Exchange Online does (it keeps its own copy of
 *   an appended message and renders it anew): in every APPEND it re-folds the
 *   header, adds a header and rewrites the Date header, so bytes and size on
 *   the target differ from what the copier sent while Message-ID and
 *   INTERNALDATE stay;
 * - hide capabilities (MULTIAPPEND: a server that takes one message per APPEND).
 *
 * The relay reads each APPEND literal whole (answering a synchronising
 * literal's continuation itself), rewrites it, and hands it on as a LITERAL+
 * literal of the new size. Other literals and commands pass unchanged.
 * `appends` counts the messages the server was handed: the crash tests
 * count what was sent again after a restart with it.
 */
import type { Socket } from 'node:net';
import { startTcpRelay } from './tcp';

export interface ImapRelayOptions {
  /** rewrite every appended message (rewriteMessage) */
  rewrite?: boolean;
  /** capabilities taken out of what the server announces, e.g. MULTIAPPEND */
  hide?: string[];
  /** called after each message handed to the server (a test kills its copier here) */
  onAppend?: (appends: number) => void;
  /**
   * called for each FETCH answer that carries a message body, with its UID:
   * true leaves that answer out, as a server does that skips a message it
   * cannot read at that moment
   */
  dropFetch?: (uid: number) => boolean;
}

export interface ImapRelay {
  port: number;
  /** messages handed to the server in APPEND commands so far */
  appends: number;
  /** their bytes as the client sent them (before any rewriting) */
  appendedBytes: number;
  /** the mailbox argument of every SELECT and EXAMINE, as sent */
  opened: string[];
  /** FETCH answers left out (dropFetch) */
  droppedFetches: number;
  close(): Promise<void>;
}

export const REWRITE_HEADER = 'X-MS-Exchange-Organization-Rewritten: mailferry-lab';

/** Unfolds the header, rewrites Date, folds long fields at 60 columns, adds a header. */
export function rewriteMessage(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  const blank = /\r?\n\r?\n/.exec(text);
  if (!blank) return raw;
  const head = text.slice(0, blank.index).replace(/\r?\n[ \t]+/g, ' ');
  const body = text.slice(blank.index + blank[0].length);
  const fields = head.split(/\r?\n/).map((field) => {
    const date = /^Date:\s*(.*)$/i.exec(field);
    const parsed = date ? new Date(date[1]!) : null;
    const line = parsed && !Number.isNaN(parsed.getTime()) ? `Date: ${parsed.toUTCString().replace(/GMT$/, '+0000')}` : field;
    return line.length <= 60 ? line : line.replace(/(.{40,60}?) /g, '$1\r\n ');
  });
  return Buffer.from(`${REWRITE_HEADER}\r\n${fields.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}

const LITERAL = /(~?)\{(\d+)(\+?)\}$/;

/** Client → server: forwards lines, rewrites APPEND message literals. */
function clientStream(client: Socket, upstream: Socket, relay: ImapRelay, options: ImapRelayOptions): (chunk: Buffer) => void {
  let buffer = Buffer.alloc(0);
  let inAppend = false;
  // bytes still to take for a literal: pass them through, or collect them for rewriting
  let literal: { left: number; rewrite: boolean; prefix: string; parts: Buffer[] } | null = null;
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (literal) {
        const take = Math.min(literal.left, buffer.length);
        const part = buffer.subarray(0, take);
        buffer = buffer.subarray(take);
        literal.left -= take;
        if (literal.rewrite) literal.parts.push(part);
        else upstream.write(part);
        if (literal.left > 0) return;
        if (literal.rewrite) {
          const received = Buffer.concat(literal.parts);
          const message = options.rewrite ? rewriteMessage(received) : received;
          upstream.write(Buffer.concat([Buffer.from(`${literal.prefix}{${message.length}+}\r\n`, 'latin1'), message]));
          relay.appends += 1;
          relay.appendedBytes += received.length;
          options.onAppend?.(relay.appends);
        }
        literal = null;
        continue;
      }
      const end = buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = buffer.subarray(0, end).toString('latin1');
      buffer = buffer.subarray(end + 2);
      if (!inAppend && /^\S+ (UID )?APPEND /i.test(line)) inAppend = true;
      const open = /^\S+ (?:SELECT|EXAMINE) (.*?)(?: \(.*\))?$/i.exec(line);
      if (open) relay.opened.push(open[1]!);
      const marker = LITERAL.exec(line);
      if (!marker) {
        upstream.write(`${line}\r\n`, 'latin1');
        inAppend = false; // the command line ended
        continue;
      }
      const [, binary, size, plus] = marker;
      const rewrite = inAppend && binary === '';
      if (rewrite) {
        if (plus === '') client.write('+ Ready for the message\r\n');
        literal = { left: Number(size), rewrite, prefix: line.slice(0, marker.index), parts: [] };
      } else {
        upstream.write(`${line}\r\n`, 'latin1');
        literal = { left: Number(size), rewrite, prefix: '', parts: [] };
      }
      if (literal.left === 0) {
        // an empty literal: hand it on as it is (the server refuses an empty message itself)
        if (rewrite) upstream.write(`${literal.prefix}{0+}\r\n`, 'latin1');
        literal = null;
      }
    }
  };
}

/**
 * Server → client, one whole response at a time (a line and the literals it
 * announces): a FETCH answer with a body for which `drop` says true is not
 * passed on.
 */
function serverStream(forward: (chunk: Buffer) => void, relay: ImapRelay, drop: (uid: number) => boolean): (chunk: Buffer) => void {
  let buffer = Buffer.alloc(0);
  let response: Buffer[] = [];
  let literalLeft = 0;
  const finish = () => {
    const whole = Buffer.concat(response);
    response = [];
    const head = whole.subarray(0, Math.min(whole.length, 512)).toString('latin1');
    const fetch = /^\* \d+ FETCH \(/.exec(head) && /BODY\[\]/.test(head) ? /UID (\d+)/.exec(head) : null;
    if (fetch && drop(Number(fetch[1]))) relay.droppedFetches++;
    else forward(whole);
  };
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (literalLeft > 0) {
        const take = Math.min(literalLeft, buffer.length);
        response.push(buffer.subarray(0, take));
        buffer = buffer.subarray(take);
        literalLeft -= take;
        if (literalLeft > 0) return;
      }
      const end = buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = buffer.subarray(0, end + 2);
      buffer = buffer.subarray(end + 2);
      response.push(line);
      const marker = LITERAL.exec(line.subarray(0, line.length - 2).toString('latin1'));
      if (marker) literalLeft = Number(marker[2]);
      else finish();
    }
  };
}

export async function startImapRelay(host: string, port: number, options: ImapRelayOptions = {}): Promise<ImapRelay> {
  const relay: ImapRelay = { port: 0, appends: 0, appendedBytes: 0, opened: [], droppedFetches: 0, close: async () => undefined };
  // a compressed session would hide the APPENDs from the relay
  const hidden = new RegExp(` (?:${['COMPRESS=DEFLATE', ...(options.hide ?? [])].map((c) => c.replace(/[^\w=+-]/g, '')).join('|')})(?=[ \\]\r])`, 'g');
  const tcp = await startTcpRelay(host, port, (client, upstream) => {
    client.on('data', clientStream(client, upstream, relay, options));
    const toClient = (chunk: Buffer) => client.write(Buffer.from(chunk.toString('latin1').replace(hidden, ''), 'latin1'));
    upstream.on('data', options.dropFetch ? serverStream(toClient, relay, options.dropFetch) : toClient);
  });
  relay.port = tcp.port;
  relay.close = tcp.close;
  return relay;
}
