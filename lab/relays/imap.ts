/**
 * Targets that are not Dovecot, made from Dovecot: an IMAP relay in front of
 * the real server that can
 * - rewrite what it stores, as Exchange Online does (it keeps its own copy of
 *   an appended message and renders it anew): in every APPEND it re-folds the
 *   header, adds a header and rewrites the Date header, so bytes and size on
 *   the target differ from what the copier sent while Message-ID and
 *   INTERNALDATE stay;
 * - hide capabilities (MULTIAPPEND: a server that takes one message per APPEND);
 * - behave as Exchange Online does towards a migration: refuse APPENDs with
 *   its throttling reply ("Request is throttled. Suggested Backoff Time: N
 *   milliseconds"), refuse a message above MaxReceiveSize, drop a session
 *   after a number of refused commands, and end a session whose OAuth token
 *   has expired at its next command (`* BYE Session invalidated -
 *   AccessTokenExpired`). Refusals are decided at an APPEND's first literal,
 *   so with MULTIAPPEND only the group's first message is size-checked:
 *   Exchange has no MULTIAPPEND, so hide it with these options.
 *
 * The relay reads each APPEND literal whole (answering a synchronising
 * literal's continuation itself), rewrites it, and hands it on as a LITERAL+
 * literal of the new size. Other literals and commands pass unchanged.
 * `appends` counts the messages the server was handed: the crash tests
 * count what was sent again after a restart with it.
 */
import type { Socket } from 'node:net';
import { decodeJwt } from 'jose';
import { startTcpRelay } from './tcp';

export interface ImapRelayOptions {
  /** rewrite every appended message (rewriteMessage) */
  rewrite?: boolean;
  /** capabilities taken out of what the server announces, e.g. MULTIAPPEND */
  hide?: string[];
  /** called after each message handed to the server (a test kills its copier here) */
  onAppend?: (appends: number) => void;
  /** Exchange Online's throttling: every `every`-th APPEND command is refused with its "Suggested Backoff Time" (status NO unless given) */
  throttle?: { every: number; backoffMs: number; status?: 'NO' | 'BAD' };
  /** Exchange's MaxReceiveSize: an APPEND whose (first) message is larger is refused, unseen by the server */
  maxMessageBytes?: number;
  /** a session is dropped after this many refused commands (Exchange Online: 10) */
  errorLimit?: number;
  /** a session that logged in with a token is ended at its first command after the token's `exp`, as Exchange Online does */
  expireTokens?: boolean;
  /** each APPEND's message reaches the server this much later: a slow target (Exchange Online takes a few messages a second) */
  appendDelayMs?: number;
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
  /** when each APPEND command arrived (ms), refused or not */
  appendCommands: number[];
  /** each throttling refusal: when it was answered and the backoff it suggested */
  throttled: Array<{ at: number; backoffMs: number }>;
  /** APPENDs refused as larger than maxMessageBytes */
  tooLarge: number;
  /** logins with XOAUTH2/OAUTHBEARER */
  tokenLogins: number;
  /** sessions ended because their token had expired */
  tokenExpired: number;
  /** sessions ended after errorLimit refusals */
  sessionsDropped: number;
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

/** Exchange Online's words, as imapsync and others have logged them. */
export const EXCHANGE = {
  throttled: (ms: number) => `Request is throttled. Suggested Backoff Time: ${ms} milliseconds`,
  tooLarge: 'Maximum size of appendable message has been exceeded.',
  tokenExpired: '* BYE Session invalidated - AccessTokenExpired',
  tooManyErrors: '* BYE Connection closed',
} as const;

/** The bearer token of an XOAUTH2 or OAUTHBEARER initial response, and when it expires (ms), if it is a JWT with `exp`. */
export function bearerExpiry(saslResponse: string): number | undefined {
  const token = /auth=Bearer ([^\x01]+)/.exec(Buffer.from(saslResponse, 'base64').toString('utf8'))?.[1];
  if (!token) return undefined;
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

interface Session {
  /** the token's expiry, once the client authenticated with one */
  tokenExpiresAt?: number;
  /** the client's next line is its SASL response (AUTHENTICATE without an initial response) */
  awaitingSasl: boolean;
  /** commands refused in this session (Exchange drops a session after ten) */
  errors: number;
}

/** A command the relay answers itself instead of handing it on: its literals and lines are swallowed up to its end. */
interface Refusal {
  tag: string;
  status: 'NO' | 'BAD';
  text: string;
}

const settled = Promise.resolve();

/** Client → server: forwards lines, rewrites APPEND message literals, refuses what the Exchange options say. */
function clientStream(client: Socket, upstream: Socket, relay: ImapRelay, options: ImapRelayOptions): (chunk: Buffer) => void {
  let buffer = Buffer.alloc(0);
  let inAppend = false;
  // bytes still to take for a literal: pass them through, or collect them for rewriting (or drop them)
  let literal: { left: number; rewrite: boolean; prefix: string; parts: Buffer[] } | null = null;
  let refusal: Refusal | null = null;
  const session: Session = { awaitingSasl: false, errors: 0 };
  // in order, each after any delay asked of an earlier one (a slow APPEND holds back what follows it)
  let queue = settled;
  const forward = (data: string | Buffer, delayMs = 0) => {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const write = () => {
      if (!upstream.destroyed) upstream.write(bytes);
    };
    if (delayMs === 0 && queue === settled) return write();
    queue = queue.then(() => new Promise<void>((resolve) => setTimeout(resolve, delayMs))).then(write);
    const mine = queue;
    void mine.then(() => {
      if (queue === mine) queue = settled;
    });
  };
  const hangUp = (line: string) => {
    client.end(`${line}\r\n`);
    upstream.destroy();
    buffer = Buffer.alloc(0);
  };
  const refuse = (r: Refusal) => {
    client.write(`${r.tag} ${r.status} ${r.text}\r\n`);
    session.errors += 1;
    if (session.errors >= (options.errorLimit ?? Infinity)) {
      relay.sessionsDropped += 1;
      hangUp(EXCHANGE.tooManyErrors);
    }
  };
  /** the tagged refusal a new APPEND gets, if any: throttling first, as Exchange checks load before content */
  const appendRefusal = (tag: string, firstSize: number): Refusal | null => {
    relay.appendCommands.push(Date.now());
    const throttle = options.throttle;
    if (throttle && relay.appendCommands.length % throttle.every === 0) {
      relay.throttled.push({ at: Date.now(), backoffMs: throttle.backoffMs });
      return { tag, status: throttle.status ?? 'NO', text: EXCHANGE.throttled(throttle.backoffMs) };
    }
    if (options.maxMessageBytes !== undefined && firstSize > options.maxMessageBytes) {
      relay.tooLarge += 1;
      return { tag, status: 'NO', text: EXCHANGE.tooLarge };
    }
    return null;
  };
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (client.destroyed) return;
      if (literal) {
        const take = Math.min(literal.left, buffer.length);
        const part = buffer.subarray(0, take);
        buffer = buffer.subarray(take);
        literal.left -= take;
        if (refusal) {
          // dropped
        } else if (literal.rewrite) literal.parts.push(part);
        else forward(part);
        if (literal.left > 0) return;
        if (literal.rewrite && !refusal) {
          const received = Buffer.concat(literal.parts);
          const message = options.rewrite ? rewriteMessage(received) : received;
          forward(Buffer.concat([Buffer.from(`${literal.prefix}{${message.length}+}\r\n`, 'latin1'), message]), options.appendDelayMs ?? 0);
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
      if (session.awaitingSasl) {
        session.awaitingSasl = false;
        session.tokenExpiresAt = bearerExpiry(line);
      } else if (!inAppend && !refusal) {
        // a new command: Exchange checks the session's token first
        if (options.expireTokens && session.tokenExpiresAt !== undefined && Date.now() >= session.tokenExpiresAt) {
          relay.tokenExpired += 1;
          return hangUp(EXCHANGE.tokenExpired);
        }
        const auth = /^\S+ AUTHENTICATE (?:XOAUTH2|OAUTHBEARER)(?: (\S+))?$/i.exec(line);
        if (auth) {
          relay.tokenLogins += 1;
          if (auth[1]) session.tokenExpiresAt = bearerExpiry(auth[1]);
          else session.awaitingSasl = true;
        }
      }
      const command = !inAppend && !refusal ? /^(\S+) (UID )?APPEND /i.exec(line) : null;
      if (command) inAppend = true;
      const open = /^\S+ (?:SELECT|EXAMINE) (.*?)(?: \(.*\))?$/i.exec(line);
      if (open && !refusal) relay.opened.push(open[1]!);
      const marker = LITERAL.exec(line);
      if (!marker) {
        if (refusal) {
          refuse(refusal);
          refusal = null;
        } else forward(`${line}\r\n`);
        inAppend = false; // the command line ended
        continue;
      }
      const [, binary, size, plus] = marker;
      if (command) refusal = appendRefusal(command[1]!, Number(size));
      if (refusal && plus === '') {
        // a synchronising literal is never sent after a refusal: the command ends here
        refuse(refusal);
        refusal = null;
        inAppend = false;
        continue;
      }
      const rewrite = inAppend && binary === '';
      if (refusal) {
        literal = { left: Number(size), rewrite, prefix: '', parts: [] };
      } else if (rewrite) {
        if (plus === '') client.write('+ Ready for the message\r\n');
        literal = { left: Number(size), rewrite, prefix: line.slice(0, marker.index), parts: [] };
      } else {
        forward(`${line}\r\n`);
        literal = { left: Number(size), rewrite, prefix: '', parts: [] };
      }
      if (literal.left === 0) {
        // an empty literal: hand it on as it is (the server refuses an empty message itself)
        if (rewrite && !refusal) forward(`${literal.prefix}{0+}\r\n`);
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
  const relay: ImapRelay = {
    port: 0,
    appends: 0,
    appendedBytes: 0,
    opened: [],
    appendCommands: [],
    throttled: [],
    tooLarge: 0,
    tokenLogins: 0,
    tokenExpired: 0,
    sessionsDropped: 0,
    droppedFetches: 0,
    close: async () => undefined,
  };
  // a compressed session would hide the APPENDs from the relay
  // '+' is kept (LITERAL+ can be hidden) and escaped for the pattern
  const hidden = new RegExp(
    ` (?:${['COMPRESS=DEFLATE', ...(options.hide ?? [])].map((c) => c.replace(/[^\w=+-]/g, '').replace(/\+/g, '\\+')).join('|')})(?=[ \\]\r])`,
    'g',
  );
  const tcp = await startTcpRelay(host, port, (client, upstream) => {
    client.on('data', clientStream(client, upstream, relay, options));
    const toClient = (chunk: Buffer) => client.write(Buffer.from(chunk.toString('latin1').replace(hidden, ''), 'latin1'));
    upstream.on('data', options.dropFetch ? serverStream(toClient, relay, options.dropFetch) : toClient);
  });
  relay.port = tcp.port;
  relay.close = tcp.close;
  return relay;
}
