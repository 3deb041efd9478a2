/**
 * One calendar of 1,000 and of 10,000 events, each copied by the DAV copy
 * alone in a fresh process (so its peak RSS is that size's own), into an
 * empty target on the running lab, then verified UID for UID. Prints the time,
 * events/s, peak RSS of each and the load average (the machine is shared) and
 * writes bench/results/dav-events-<date>.json (not a full bench file:
 * bench/readme.ts leaves it out).
 *
 * The lab seeds Radicale's files directly, so the source has no item cache
 * yet and parses every event on its first listing: a real source server has
 * long built that cache. One listing before the copy (timed apart, as
 * `warmMs`) builds it, so the copy's time is the copy's.
 *
 *   npx tsx bench/davEvents.ts [--sizes 1000,10000]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { countDav, createDavCopier, verifyDav, type DavEndpoint } from '../connectors/dav';
import { PAGE } from '../connectors/dav/items';
import { CALENDAR_COLLECTION } from '../lab/davStore';
import { readLabInfo, type LabInfo } from '../lab/info';
import { createOrgUser, removeOrgUser } from '../lab/users';

const endpoint = (info: LabInfo, side: 'onprem' | 'cloud'): DavEndpoint => ({
  url: info[side].dav.url,
  user: info[side].dav.admin.user,
  password: info[side].dav.admin.password,
});

interface Point {
  events: number;
  /** the untimed first listing of the source calendar, which builds Radicale's item cache */
  warmMs: number;
  copyMs: number;
  eventsPerSecond: number;
  /** the copying process's peak resident set (getrusage maxrss) */
  peakRssMb: number;
  /** its largest sampled V8 heap in use */
  peakHeapMb: number;
  verified: { missing: number; extra: number; onTarget: number };
  /** 1-minute load average before and after the copy: other work on the machine slows it */
  load: { before: number; after: number };
}

/** One PROPFIND of etags over the source calendar: Radicale parses and caches each item it has not seen. */
async function warmSource(info: LabInfo, address: string): Promise<number> {
  const { url, user, password } = endpoint(info, 'onprem');
  const started = Date.now();
  const response = await fetch(`${url.replace(/\/$/, '')}/${address}/${CALENDAR_COLLECTION}/`, {
    method: 'PROPFIND',
    headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, depth: '1', 'content-type': 'application/xml' },
    body: '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>',
  });
  await response.text();
  if (response.status !== 207) throw new Error(`warming the source calendar of ${address}: ${response.status} ${response.statusText}`);
  return Date.now() - started;
}

/** In the child: copy one address's collections, print what it cost. */
async function child(address: string): Promise<void> {
  const info = readLabInfo();
  let peakHeap = 0;
  const sample = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 50);
  const started = Date.now();
  const result = await createDavCopier().copyDav(endpoint(info, 'onprem'), endpoint(info, 'cloud'), address);
  const ms = Date.now() - started;
  clearInterval(sample);
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  console.log(JSON.stringify({ ms, peakRss: process.resourceUsage().maxRSS * 1024, peakHeap, events: result.events }));
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--child');
  if (at > 0) return child(process.argv[at + 1]!);
  const sizesArg = process.argv.indexOf('--sizes');
  const sizes = sizesArg > 0 ? process.argv[sizesArg + 1]!.split(',').map(Number) : [1_000, 10_000];
  const info = readLabInfo();
  const points: Point[] = [];
  const started = new Date();
  const load = loadavg()[0];
  const file = join(__dirname, 'results', `dav-events-${started.toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z')}.json`);
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  // written after every size, so a run stopped half way keeps what it measured (complete: false)
  const save = (complete: boolean) => {
    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryGiB: totalmem() / 2 ** 30, node: process.version, loadAtStart: load, loadNow: loadavg()[0] };
    writeFileSync(file, `${JSON.stringify({ bench: 'dav-events', startedAt: started.toISOString(), complete, sizes, page: PAGE, machine, points }, null, 2)}\n`);
  };
  for (const events of sizes) {
    const address = `dav-bench-${randomBytes(3).toString('hex')}@tailspintoys.com`;
    await createOrgUser(info, { address, password: 'Bench!Dav1', kind: 'normal', messages: 0, contacts: 0, events });
    try {
      const warmMs = await warmSource(info, address);
      const before = loadavg()[0]!;
      const out = execFileSync(process.execPath, ['--import', 'tsx', __filename, '--child', address], { encoding: 'utf8', maxBuffer: 1 << 20 });
      const r = JSON.parse(out.trim().split('\n').at(-1)!) as { ms: number; peakRss: number; peakHeap: number; events: { copied: number } };
      const after = loadavg()[0]!;
      const gap = await verifyDav(endpoint(info, 'onprem'), endpoint(info, 'cloud'), address);
      const onTarget = (await countDav(endpoint(info, 'cloud'), address)).events;
      const point: Point = {
        events,
        warmMs,
        copyMs: r.ms,
        eventsPerSecond: Math.round((r.events.copied * 1000) / r.ms),
        peakRssMb: Math.round(r.peakRss / 2 ** 20),
        peakHeapMb: Math.round(r.peakHeap / 2 ** 20),
        verified: { missing: gap.events.missing.length, extra: gap.events.extra.length, onTarget },
        load: { before, after },
      };
      points.push(point);
      save(false);
      console.log(
        `${events} events: copied in ${(r.ms / 1000).toFixed(1)} s (${point.eventsPerSecond}/s), peak RSS ${point.peakRssMb} MB, peak heap ${point.peakHeapMb} MB; target holds ${onTarget}, ${point.verified.missing} missing, ${point.verified.extra} extra; source cache built in ${(warmMs / 1000).toFixed(1)} s beforehand; load average ${before.toFixed(2)} → ${after.toFixed(2)} (${cpus().length} CPUs)`,
      );
    } finally {
      await removeOrgUser(info, address);
    }
  }
  save(true);
  console.log(`results: ${file}`);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
