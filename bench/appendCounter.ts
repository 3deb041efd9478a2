/**
 * A loopback TCP relay in front of the target IMAP server that counts what the
 * target really receives: every message literal of an APPEND (MULTIAPPEND
 * included) and its bytes. It reads the client's side of the protocol just
 * enough to skip literals, so message bodies are never mistaken for commands.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface AppendCount {
  messages: number;
  bytes: number;
}

export interface AppendCounter {
  port: number;
  count: AppendCount;
  close(): Promise<void>;
}

/** Parses a client→server IMAP byte stream, counting APPEND literals. */
function appendParser(count: AppendCount) {
  let line = '';
  let inAppend = false;
  let skip = 0;
  return (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        continue;
      }
      const nl = chunk.indexOf(0x0a, i);
      const end = nl === -1 ? chunk.length : nl + 1;
      line += chunk.subarray(i, end).toString('latin1');
      i = end;
      if (nl === -1) break;
      // a new command unless we are inside one that continues after a literal
      if (!inAppend) inAppend = /^\S+ (UID )?APPEND /i.test(line);
      const literal = /\{(\d+)\+?\}\r?\n$/.exec(line);
      if (literal) {
        skip = Number(literal[1]);
        if (inAppend) {
          count.messages++;
          count.bytes += skip;
        }
      } else {
        inAppend = false;
      }
      line = '';
    }
  };
}

export async function startAppendCounter(host: string, port: number): Promise<AppendCounter> {
  const count: AppendCount = { messages: 0, bytes: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    const parse = appendParser(count);
    client.on('data', (d: Buffer) => {
      parse(d);
      upstream.write(d);
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
  if (!address || typeof address === 'string') throw new Error('the append counter has no port');
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
