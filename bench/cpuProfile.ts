/**
 * What a worker's `node --cpu-prof` profiles say about one time window (the
 * batch): V8 writes one .cpuprofile per thread (the main thread runs
 * activities and the SDK's JS side, the workflow threads run workflow code),
 * with sample times on the monotonic clock that `process.hrtime` reads here
 * too, so the samples outside the batch (start-up, bundle loading, the
 * history fetch after it) are left out. Native work (the SDK's Rust core, GC
 * helper threads, TLS) is not sampled: the /proc CPU of the process less the
 * sampled busy time is that.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ThreadProfile {
  file: string;
  /** sampled ms in the window that were not idle */
  busyMs: number;
  /** self ms by where the code lives (a package, a folder of mailferry, node internals, GC) */
  byArea: Record<string, number>;
}

export interface ProfileSummary {
  windowMs: number;
  threads: ThreadProfile[];
  /** self ms of the busiest functions over every thread */
  topSelf: Array<{ fn: string; ms: number }>;
  /** ms with each of mailferry's own functions on the stack (inclusive), busiest first */
  topInclusive: Array<{ fn: string; ms: number }>;
}

const ROOT = join(__dirname, '..');

/** a package name, mailferry's folder, or a V8 pseudo-frame */
function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.replace(/^file:\/\//, '');
  // the SDK's call-into-sandbox scripts (evalmachine.<anonymous>) and WebAssembly have no file
  if (!path.startsWith('/')) return url.startsWith('wasm') ? 'wasm' : 'vm scripts (the SDK entering a workflow sandbox)';
  const nm = path.lastIndexOf(`node_modules${sep}`);
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split(sep);
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (path.includes('workflow-bundle')) return 'workflow bundle (workflows/ and the SDK inside the sandbox)';
  const rel = relative(ROOT, path);
  if (!rel.startsWith('..')) return `mailferry ${rel.split(sep)[0]}/`;
  return path;
}

const frameName = (n: ProfileNode) => {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  const rel = url && !url.startsWith('node:') ? relative(ROOT, url) : url;
  return `${n.callFrame.functionName || '(anonymous)'} ${rel}:${n.callFrame.lineNumber + 1}`;
};

const isOurs = (n: ProfileNode) => {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  return url.startsWith(ROOT) && !url.includes('node_modules') && !url.includes('workflow-bundle');
};

/**
 * Summarises every .cpuprofile in `dir` over [fromUs, toUs] (monotonic µs, as
 * `process.hrtime.bigint() / 1000n` reads it).
 */
export function summariseProfiles(dir: string, fromUs: number, toUs: number, top = 25): ProfileSummary {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const threads: ThreadProfile[] = [];
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const byArea: Record<string, number> = {};
    let busy = 0;
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      // a sample stands for the time until the next one
      const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      if (t < fromUs || t > toUs) continue;
      const node = nodes.get(profile.samples[i]!);
      if (!node) continue;
      const area = areaOf(node.callFrame.url, node.callFrame.functionName);
      if (area === '(idle)') continue;
      busy += dt;
      byArea[area] = (byArea[area] ?? 0) + dt;
      const name = frameName(node);
      self.set(name, (self.get(name) ?? 0) + dt);
      const seen = new Set<string>();
      for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
        const n = nodes.get(id)!;
        if (!isOurs(n)) continue;
        const fn = frameName(n);
        if (seen.has(fn)) continue;
        seen.add(fn);
        inclusive.set(fn, (inclusive.get(fn) ?? 0) + dt);
      }
    }
    threads.push({ file, busyMs: busy, byArea });
  }
  const ranked = (m: Map<string, number>) =>
    [...m]
      .sort(([, a], [, b]) => b - a)
      .slice(0, top)
      .map(([fn, ms]) => ({ fn, ms }));
  return {
    windowMs: (toUs - fromUs) / 1000,
    threads: threads.sort((a, b) => b.busyMs - a.busyMs),
    topSelf: ranked(self),
    topInclusive: ranked(inclusive),
  };
}

/** The summary as printed: per thread the areas, then the functions. `processCpuMs`: the worker's /proc CPU in the window. */
export function renderProfile(p: ProfileSummary, processCpuMs: number): string[] {
  const out: string[] = [];
  const sampled = p.threads.reduce((n, t) => n + t.busyMs, 0);
  out.push(
    `   worker CPU profile (node --cpu-prof, batch window ${(p.windowMs / 1000).toFixed(1)} s): JS sampled ${(sampled / 1000).toFixed(1)} s of ${(processCpuMs / 1000).toFixed(1)} s process CPU (the rest native: SDK core, GC threads, TLS)`,
  );
  for (const t of p.threads) {
    const areas = Object.entries(t.byArea)
      .sort(([, a], [, b]) => b - a)
      .slice(0, 10)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`)
      .join(', ');
    // CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile: thread 0 is the main thread (activities, the SDK's JS side)
    const thread = t.file.split('.')[4] === '0' ? 'main thread' : `worker thread ${t.file.split('.')[4]} (workflows)`;
    out.push(`     ${thread}: ${(t.busyMs / 1000).toFixed(1)} s — ${areas}`);
  }
  out.push('     self time, busiest functions:');
  for (const f of p.topSelf.slice(0, 15)) out.push(`       ${(f.ms / 1000).toFixed(2).padStart(6)} s  ${f.fn}`);
  out.push("     mailferry's functions, time on the stack:");
  for (const f of p.topInclusive.slice(0, 15)) out.push(`       ${(f.ms / 1000).toFixed(2).padStart(6)} s  ${f.fn}`);
  return out;
}
