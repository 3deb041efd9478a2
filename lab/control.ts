/**
 * One lab server at a time, for the fault suite: stop it (as a crash or an
 * outage would), start it again on its existing configuration and data, or
 * freeze it with SIGSTOP (a network cut: connections stay open, nothing
 * answers) and thaw it. Only processes of this lab's PID files are touched,
 * so a second lab (MAILFERRY_LAB_DIR) can be abused while the shared one runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { waitUntilAnswers, type ServiceName } from './health';
import { readLabInfo } from './info';
import { isLabProcess, stopProcess } from './proc';
import { SERVICES, type Service } from './services';

function service(name: ServiceName): Service {
  const found = SERVICES.find((s) => s.name === name);
  if (!found) throw new Error(`no lab server named ${name}`);
  return found;
}

function runningPid(name: ServiceName): number {
  const pid = service(name).pid();
  if (!isLabProcess(pid)) throw new Error(`lab server ${name} is not running (start the lab with \`npm run lab:up\`)`);
  return pid;
}

/** The server and every process it forked (Dovecot serves each session from a child). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // the command name may hold spaces and parentheses: fields start after the last ')'
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** SIGKILL when `crash`, else SIGTERM then SIGKILL; resolves when the server is gone. */
export async function stopLabServer(name: ServiceName, crash = false): Promise<void> {
  const pid = runningPid(name);
  if (crash) process.kill(pid, 'SIGKILL');
  await stopProcess(pid, crash ? 0 : 5000);
}

/** Starts a stopped server on its existing configuration and data; resolves when it answers. */
export async function startLabServer(name: ServiceName): Promise<void> {
  const s = service(name);
  if (!isLabProcess(s.pid())) s.start();
  await waitUntilAnswers(name, readLabInfo(), 30_000);
}

/** Freezes the server and its children: open connections hang, as behind a cut cable. */
export function pauseLabServer(name: ServiceName): void {
  signalTree(name, 'SIGSTOP');
}

export function resumeLabServer(name: ServiceName): void {
  signalTree(name, 'SIGCONT');
}

/** A session process may end between the listing of the tree and its signal: it needs none then. */
function signalTree(name: ServiceName, signal: NodeJS.Signals): void {
  for (const pid of processTree(runningPid(name))) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}
