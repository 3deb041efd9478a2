/**
 * An HTTP relay in front of a real DAV server that behaves like a stricter
 * target: it refuses items larger than `maxItemBytes` with 413, as hosted
 * targets refuse items over their size limit, and counts what it forwards
 * (PUTs, each REPORT) so tests can assert on what was sent. In front of a
 * source it shows how the copy reads it.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { Rng } from '../../lab/seed/rng';

export interface DavRelay {
  url: string;
  /** PUTs forwarded to the server, by UID line of the body */
  puts: string[];
  /** PUTs the relay refused itself */
  refused: number;
  /** the UID line of each PUT it refused */
  refusedUids: string[];
  /** its item size limit now (a test may change it between runs) */
  maxItemBytes: number;
  /** every REPORT forwarded: its path, its kind (`calendar-multiget`, `calendar-query`…) and how many hrefs it named */
  reports: { path: string; kind: string; hrefs: number }[];
  /** called before each PUT is forwarded (a test aborts its copier here) */
  onPut?: (count: number) => void | Promise<void>;
  close(): Promise<void>;
}

const bodyOf = async (request: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

export async function startDavRelay(target: string, maxItemBytes = Number.POSITIVE_INFINITY): Promise<DavRelay> {
  const relay: DavRelay = { url: '', puts: [], refused: 0, refusedUids: [], maxItemBytes, reports: [], close: async () => undefined };
  const uidOf = (body: Buffer) => /^UID[^:]*:(.*)$/m.exec(body.toString('utf8'))?.[1]?.trim() ?? '';
  const server = createServer((request, response) => {
    void (async () => {
      const body = await bodyOf(request);
      if (request.method === 'PUT' && body.length > relay.maxItemBytes) {
        relay.refused += 1;
        relay.refusedUids.push(uidOf(body));
        response.writeHead(413, 'Request Entity Too Large').end(`item of ${body.length} bytes is over the target's limit of ${relay.maxItemBytes}`);
        return;
      }
      if (request.method === 'PUT') {
        relay.puts.push(uidOf(body));
        await relay.onPut?.(relay.puts.length);
      }
      if (request.method === 'REPORT') {
        const xml = body.toString('utf8');
        relay.reports.push({
          path: request.url ?? '/',
          kind: /<(?:\w+:)?([\w-]+)[\s>]/.exec(xml.replace(/<\?xml[^>]*\?>/, ''))?.[1] ?? '',
          hrefs: (xml.match(/<(?:\w+:)?href>/g) ?? []).length,
        });
      }
      const headers = Object.fromEntries(Object.entries(request.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k))) as Record<string, string>;
      const upstream = await fetch(new URL(request.url ?? '/', target), {
        method: request.method,
        headers,
        body: ['GET', 'HEAD'].includes(request.method ?? '') ? undefined : body,
      });
      const payload = Buffer.from(await upstream.arrayBuffer());
      response.writeHead(upstream.status, upstream.statusText, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' }).end(payload);
    })().catch((error: unknown) => response.writeHead(502).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  relay.close = () => new Promise((resolve) => server.close(() => resolve()));
  return relay;
}

/** A kill moment drawn from a seed, printed so a failing run can be replayed with MAILFERRY_KILL_SEED. */
export function killMoment(label: string, min: number, max: number): number {
  const seed = process.env.MAILFERRY_KILL_SEED ?? String(Date.now() % 1_000_000);
  const at = new Rng(`${label}/${seed}`).int(min, max);
  console.log(`${label}: kill seed ${seed} → after PUT ${at} (replay with MAILFERRY_KILL_SEED=${seed})`);
  return at;
}
