/**
 * Lab processes outlive the CLI that starts them, so each one is known by a
 * PID file under `.lab`; `down` and `status` trust only those files (and
 * check that the PID still runs a command that mentions the lab directory, so
 * a recycled PID is never killed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from './config';

export function pidFile(name: string): string {
  return join(paths.pids, `${name}.pid`);
}

export function readPid(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

function commandLine(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

/** alive and really ours: its command line names a path inside the lab directory */
export function isLabProcess(pid: number | null): pid is number {
  if (pid === null) return false;
  const cmd = commandLine(pid);
  if (cmd === null) return false;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  if (/^\d+ \(.*\) Z /.test(stat)) return false;
  return cmd.includes(`${paths.root}/`);
}

/** Starts a foreground server detached from this process; stdout/stderr go to `log`. */
export function spawnDetached(name: string, command: string, args: string[], log: string, env: NodeJS.ProcessEnv = process.env): number {
  mkdirSync(paths.pids, { recursive: true });
  mkdirSync(paths.logs, { recursive: true });
  const out = openSync(log, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out], env });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  child.unref();
  writeFileSync(pidFile(name), `${child.pid}\n`);
  return child.pid;
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(command: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', input: options.input, env: options.env ?? process.env });
  if (result.error) throw new Error(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}: ${(result.stderr || result.stdout).trim()}`);
  }
  return result.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(pid: number, graceMs = 5000): Promise<void> {
  if (!isLabProcess(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isLabProcess(pid)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  while (isLabProcess(pid)) await sleep(50);
}

export function removePidFile(file: string): void {
  rmSync(file, { force: true });
}

const SERVER_BINARIES = ['/usr/sbin/slapd', '/usr/sbin/dovecot', '/usr/bin/radicale', 'aiosmtpd', 'lab/oauth/server.ts', 'lab/graph/main.ts'];

/**
 * Lab servers found by their command line (a server binary given a path in
 * the lab directory), whatever the PID files say: what `down` must leave at
 * zero. Other processes that merely mention the path (an editor, `tail -f`)
 * are not servers and are left alone.
 */
export function labServerProcesses(): { pid: number; cmd: string }[] {
  const out = spawnSync('pgrep', ['-af', paths.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')], { encoding: 'utf8' }).stdout ?? '';
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const space = line.indexOf(' ');
      return { pid: Number(line.slice(0, space)), cmd: line.slice(space + 1) };
    })
    .filter((p) => p.cmd.includes(`${paths.root}/`) && SERVER_BINARIES.some((binary) => p.cmd.includes(binary)));
}
