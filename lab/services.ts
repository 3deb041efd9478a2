/**
 * The lab's seven processes, each with how to find its PID, configure it and
 * start it. `up`, `down` and `status` iterate this list.
 */
import type { ServiceName } from './health';
import { pidFile, readPid } from './proc';
import type { LabSecrets } from './secrets';
import { configureDovecot, startDovecot } from './servers/dovecot';
import { configureOauth, startOauth } from './servers/oauth';
import { configureRadicale, startRadicale } from './servers/radicale';
import { configureSlapd, startSlapd } from './servers/slapd';
import { configureGraph, startGraph } from './servers/graph';
import { configureSmtp, startSmtp } from './servers/smtp';

export interface Service {
  name: ServiceName;
  pid(): number | null;
  /** (re)writes its configuration; never touches data */
  configure(secrets: LabSecrets): Promise<void> | void;
  start(): void;
}

const own = (name: ServiceName) => () => readPid(pidFile(name));

/** slapd first: the cloud Dovecot authenticates against it; the token endpoint before it: Dovecot validates its tokens */
export const SERVICES: Service[] = [
  { name: 'slapd', pid: own('slapd'), configure: configureSlapd, start: startSlapd },
  { name: 'oauth', pid: own('oauth'), configure: configureOauth, start: startOauth },
  { name: 'dovecot-onprem', pid: own('dovecot-onprem'), configure: (s) => configureDovecot('onprem', s), start: () => startDovecot('onprem') },
  { name: 'dovecot-cloud', pid: own('dovecot-cloud'), configure: (s) => configureDovecot('cloud', s), start: () => startDovecot('cloud') },
  { name: 'radicale-onprem', pid: own('radicale-onprem'), configure: (s) => configureRadicale('onprem', s), start: () => startRadicale('onprem') },
  { name: 'radicale-cloud', pid: own('radicale-cloud'), configure: (s) => configureRadicale('cloud', s), start: () => startRadicale('cloud') },
  { name: 'smtp', pid: own('smtp'), configure: configureSmtp, start: startSmtp },
  { name: 'graph', pid: own('graph'), configure: configureGraph, start: startGraph },
];
