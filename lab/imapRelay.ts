/**
 * A loopback TCP relay in front of an IMAP server that counts what the server
 * really receives: every message literal of an APPEND (MULTIAPPEND included)
 * and its bytes. It reads the client's side of the protocol just enough to
 * skip literals, so message bodies are never mistaken for commands. With
 * `rewritePrefix` it also plays a target that rewrites what it stores (as
 * Exchange Online renders appended messages anew): every appended message
 * gets that header line in front, and its literal's length grows to match.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface AppendCount {
  messages: number;
  bytes: number;
}

export interface ImapRelay {
  port: number;
  count: AppendCount;
  close(): Promise<void>;
}

/** Turns the client→server byte stream into what the server gets, counting (and rewriting) APPEND literals. */
function appendParser(count: AppendCount, rewritePrefix?: Buffer) {
  let line: Buffer[] = [];
  let inAppend = false;
  let skip = 0;
  let prefixDue = false;
  return (chunk: Buffer): Buffer[] => {
    const out: Buffer[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        // the client sends a synchronising literal only after the server's "+": the prefix goes with its first bytes
        if (prefixDue && rewritePrefix) out.push(rewritePrefix);
        prefixDue = false;
        const n = Math.min(skip, chunk.length - i);
        out.push(chunk.subarray(i, i + n));
        skip -= n;
        i += n;
        continue;
      }
      const nl = chunk.indexOf(0x0a, i);
      const end = nl === -1 ? chunk.length : nl + 1;
      line.push(chunk.subarray(i, end));
      i = end;
      if (nl === -1) break; // a command line is forwarded whole
      let text = Buffer.concat(line).toString('latin1');
      line = [];
      // a new command unless we are inside one that continues after a literal
      if (!inAppend) inAppend = /^\S+ (UID )?APPEND /i.test(text);
      const literal = /\{(\d+)(\+?)\}\r?\n$/.exec(text);
      if (literal) {
        skip = Number(literal[1]);
        if (inAppend) {
          count.messages++;
          count.bytes += skip;
          if (rewritePrefix) {
            text = `${text.slice(0, literal.index)}{${skip + rewritePrefix.length}${literal[2]}}\r\n`;
            prefixDue = true;
          }
        }
      } else {
        inAppend = false;
      }
      out.push(Buffer.from(text, 'latin1'));
    }
    return out;
  };
}

export async function startImapRelay(host: string, port: number, options: { rewritePrefix?: string } = {}): Promise<ImapRelay> {
  const count: AppendCount = { messages: 0, bytes: 0 };
  const prefix = options.rewritePrefix === undefined ? undefined : Buffer.from(options.rewritePrefix, 'latin1');
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    const parse = appendParser(count, prefix);
    client.on('data', (d: Buffer) => {
      for (const b of parse(d)) upstream.write(b);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the IMAP relay has no port');
  return {
    port: address.port,
    count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
