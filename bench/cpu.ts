/**
 * Where a run's CPU goes: the client (a tool's processes, reaped by us, or
 * the worker), the source Dovecot and the target Dovecot. Dovecot forks one
 * `imap` process per session and reaps it, so the master's own plus its
 * children's times (utime+stime+cutime+cstime in /proc/<pid>/stat) grow by
 * exactly what that server spent.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidFile, readPid } from '../lab/proc';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** [own, reaped children] CPU ms of a process, or [0, 0] when it is gone */
function cpuOf(pid: number | 'self'): [number, number] {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14-17 (utime stime cutime cstime) are 11-14 after the ')'
    return [(Number(f[11]) + Number(f[12])) * TICK_MS, (Number(f[13]) + Number(f[14])) * TICK_MS];
  } catch {
    return [0, 0];
  }
}

const total = (pid: number | null) => (pid === null ? 0 : cpuOf(pid).reduce((a, b) => a + b, 0));

export interface CpuSplit {
  /** ms of CPU of the copying client (tool processes or the worker) */
  client: number;
  sourceServer: number;
  targetServer: number;
}

/** Starts counting; the returned function gives the CPU spent since. `workerPid`: the client is that process, not our children. */
export function cpuMeter(workerPid?: number): () => CpuSplit {
  const dovecot = (side: 'onprem' | 'cloud') => readPid(pidFile(`dovecot-${side}`));
  const client = () => (workerPid ? cpuOf(workerPid)[0] : cpuOf('self')[1]);
  const before = { client: client(), source: total(dovecot('onprem')), target: total(dovecot('cloud')) };
  return () => ({
    client: client() - before.client,
    sourceServer: total(dovecot('onprem')) - before.source,
    targetServer: total(dovecot('cloud')) - before.target,
  });
}

/** Every server of the bench plus the worker: CPU ms spent by each since the meter started. */
/**
 * PostgreSQL's CPU ms: the postmaster's own and reaped, plus its live backends
 * (one per connection, alive as long as the Temporal server's connection pool keeps it).
 */
function postgresCpu(postmasterPidFile: string): number {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(postmasterPidFile, 'utf8').split('\n')[0]);
  } catch {
    return 0;
  }
  let sum = total(postmaster);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) sum += total(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

/**
 * Every server of the bench plus the worker: CPU ms spent by each since the meter started.
 * `cluster`: the Temporal server is the PostgreSQL cluster's (its pid file and PostgreSQL's data folder).
 */
export function serverCpuMeter(
  workerPid: number,
  cluster?: { temporalPidFile: string; postgresData: string },
): () => Record<string, number> {
  const temporalPidFile = cluster?.temporalPidFile ?? join(process.env.MAILFERRY_STATE_DIR ?? '', 'temporal', 'pid');
  const pids: Record<string, () => number | null> = {
    worker: () => workerPid,
    temporal: () => readPid(temporalPidFile),
    slapd: () => readPid(pidFile('slapd')),
    'dovecot-onprem': () => readPid(pidFile('dovecot-onprem')),
    'dovecot-cloud': () => readPid(pidFile('dovecot-cloud')),
    'radicale-onprem': () => readPid(pidFile('radicale-onprem')),
    'radicale-cloud': () => readPid(pidFile('radicale-cloud')),
    smtp: () => readPid(pidFile('smtp')),
  };
  const snapshot = () => {
    const cpu = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, total(pid())]));
    if (cluster) cpu.postgresql = postgresCpu(join(cluster.postgresData, 'postmaster.pid'));
    return cpu;
  };
  const before = snapshot();
  return () => {
    const after = snapshot();
    return Object.fromEntries(Object.keys(after).map((name) => [name, after[name] - before[name]]));
  };
}
