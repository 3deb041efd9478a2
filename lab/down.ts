/** `lab:down`: stops every lab process (data stays in .lab) and checks none is left. */
import { labServerProcesses, removePidFile, pidFile, stopProcess, isLabProcess } from './proc';
import { releaseDc } from './servers/samba';
import { SERVICES } from './services';

export async function labDown(log: (line: string) => void): Promise<void> {
  for (const service of [...SERVICES].reverse()) {
    const pid = service.pid();
    if (isLabProcess(pid)) {
      await stopProcess(pid);
      log(`stopped ${service.name} (pid ${pid})`);
    }
    removePidFile(pidFile(service.name));
  }
  const dc = await releaseDc();
  if (dc.stopped !== null) log(`stopped samba (pid ${dc.stopped})`);
  else if (dc.usedBy.length > 0) log(`samba AD DC left running: still used by ${dc.usedBy.join(', ')}`);
  // a lab server whose PID file was lost
  for (const stray of labServerProcesses()) {
    await stopProcess(stray.pid);
    log(`stopped stray lab server ${stray.pid}: ${stray.cmd}`);
  }
  const left = labServerProcesses();
  if (left.length > 0) throw new Error(`lab servers still running: ${left.map((p) => p.pid).join(', ')}`);
  log('lab stopped; no lab process left (data kept in .lab)');
}
