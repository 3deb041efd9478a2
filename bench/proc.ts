/**
 * Child processes the benchmark times and watches: wall time, exit status and
 * peak resident memory (VmHWM, which the kernel keeps per process, sampled
 * until the process exits because /proc forgets it afterwards).
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/** VmHWM of a live process in bytes, or undefined once it is gone. */
export function peakRss(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts a new peak: writing 5 to clear_refs resets VmHWM to the current RSS
 * (Linux ≥ 4.0), so a long-lived worker's start-up (bundling its workflows)
 * does not hide what a run costs. Returns false where the kernel refuses.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Remembers the highest VmHWM seen for a pid; `stop()` returns it. */
export function watchRss(pid: number, everyMs = 250): { stop(): number; peak(): number } {
  let peak = 0;
  const look = () => {
    peak = Math.max(peak, peakRss(pid) ?? 0);
  };
  look();
  const timer = setInterval(look, everyMs);
  return {
    peak: () => (look(), peak),
    stop: () => {
      look();
      clearInterval(timer);
      return peak;
    },
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  peakRss: number;
  output: string;
}

/** Runs a command to its end; output (stdout+stderr) is kept, capped, for error messages. */
export function runTimed(command: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const rss = child.pid ? watchRss(child.pid) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, ms: Number(process.hrtime.bigint() - started) / 1e6, peakRss: rss?.stop() ?? 0, output });
    });
  });
}

export const elapsedMs = (startedNs: bigint) => Number(process.hrtime.bigint() - startedNs) / 1e6;
