/** `lab:down`: stops every lab process (data stays in .lab) and checks none is left. */
import { labProcesses, removePidFile, pidFile, stopProcess, isLabProcess } from './proc';
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
  // anything else started from .lab (a server whose PID file was lost)
  for (const stray of labProcesses()) {
    await stopProcess(stray.pid);
    log(`stopped stray lab process ${stray.pid}: ${stray.cmd}`);
  }
  const left = labProcesses();
  if (left.length > 0) throw new Error(`lab processes still running: ${left.map((p) => p.pid).join(', ')}`);
  log('lab stopped; no lab process left (data kept in .lab)');
}
