/** `lab:status` and the guard of `lab:info`: which servers run and answer. */
import { probe, ServiceName } from './health';
import type { LabInfo } from './info';
import { isLabProcess } from './proc';
import { dcPid, isDcProcess } from './servers/samba';
import { SERVICES } from './services';

export interface ServiceStatus {
  name: ServiceName;
  pid: number | null;
  running: boolean;
  /** null when it answers */
  problem: string | null;
}

export async function labStatus(info: LabInfo): Promise<ServiceStatus[]> {
  const dc = dcPid();
  const dcRunning = isDcProcess(dc);
  return Promise.all([
    (async () => ({ name: 'samba' as const, pid: dc, running: dcRunning, problem: dcRunning ? await probe('samba', info) : 'not running' }))(),
    ...SERVICES.map(async (service) => {
      const pid = service.pid();
      const running = isLabProcess(pid);
      return { name: service.name, pid, running, problem: running ? await probe(service.name, info) : 'not running' };
    }),
  ]);
}
