/** The suite's own Temporal dev server: SIGKILLed and started again on its dev.db (scripts/temporal-up.sh). */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/backbone';
import { stateDir } from './env';

const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

export async function killTemporal(): Promise<void> {
  const pid = Number(readFileSync(join(stateDir(), 'temporal', 'pid'), 'utf8').trim());
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  if (!cmd.includes('server start-dev') || !cmd.includes(stateDir())) throw new Error(`pid ${pid} is not the suite's Temporal server: ${cmd}`);
  process.kill(pid, 'SIGKILL');
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
}

export function startTemporal(): void {
  const result = spawnSync('bash', [join(ROOT, 'scripts', 'temporal-up.sh')], { encoding: 'utf8', env: process.env });
  if (result.status !== 0) throw new Error(`temporal-up.sh failed: ${result.stderr}`);
}
