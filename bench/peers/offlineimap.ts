/**
 * offlineimap3 copying the bench mailboxes IMAP → IMAP with the admins'
 * master-user logins (peerLogin: as mailferry's connector logs in): one config (and metadata directory) per mailbox, the
 * source repository read-only. offlineimap3 8.0 rejects the old
 * `status_backend` option, so there is none. `ui = quiet`: its default UI
 * prints per message and costs CPU.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImapEndpoint } from '../../connectors/mail/types';
import { runTimed, type RunResult } from '../proc';
import { peerLogin, type PeerJob } from './mbsync';

function repository(name: string, e: ImapEndpoint, readonly: boolean): string {
  const login = peerLogin(e);
  return [
    `[Repository ${name}]`,
    'type = IMAP',
    `remotehost = ${e.host}`,
    `remoteport = ${e.port}`,
    `remoteuser = ${login.user}`,
    // offlineimap reads remotepass raw to the end of the line; the lab's passwords have no newline
    `remotepass = ${login.password}`,
    `ssl = ${e.secure ? 'yes' : 'no'}`,
    'starttls = no',
    readonly ? 'readonly = True' : 'createfolders = True',
    '',
  ].join('\n');
}

/** One config file per job (mode 0600: lab passwords), fresh metadata directories. */
export function prepareOfflineimap(dir: string, jobs: PeerJob[]): string[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return jobs.map((job, i) => {
    const config = join(dir, `offlineimaprc-${i}`);
    const text = [
      '[general]',
      'accounts = a',
      `metadata = ${join(dir, `meta-${i}`)}`,
      'ui = quiet',
      '',
      '[Account a]',
      'localrepository = near',
      'remoterepository = far',
      '',
      repository('far', job.source, true),
      repository('near', job.target, false),
    ].join('\n');
    writeFileSync(config, text, { mode: 0o600 });
    return config;
  });
}

export async function runOfflineimap(configs: string[], parallel: boolean): Promise<RunResult[]> {
  const one = async (config: string) => {
    const r = await runTimed('offlineimap', ['-c', config, '-o', '-u', 'quiet']);
    if (r.code !== 0) throw new Error(`offlineimap (${config}) exited with ${r.code ?? r.signal}: ${r.output.slice(-2000)}`);
    return r;
  };
  if (parallel) return Promise.all(configs.map(one));
  const results: RunResult[] = [];
  for (const c of configs) results.push(await one(c));
  return results;
}
