/**
 * mbsync (Debian `isync`) copying the bench mailboxes source → target with
 * the admins' master-user logins (`<mailbox>*<admin>`, the login mailferry's
 * connector sends: with the admin's own login they would copy the admin's
 * empty mailbox): one channel per mailbox, each with its own
 * SyncState directory (shared state makes parallel runs collide). `Sync Pull`
 * + `Create Near` is a one-way copy; `CopyArrivalDate` keeps INTERNALDATE.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imapAuth } from '../../connectors/mail/connect';
import type { ImapEndpoint } from '../../connectors/mail/types';
import { runTimed, type RunResult } from '../proc';

export interface PeerJob {
  source: ImapEndpoint;
  target: ImapEndpoint;
}

/**
 * The user name and password the peers log in with: the same login mailferry sends (imapAuth). The peers have
 * plain LOGIN only, so an admin login that needs SASL's authorisation identity or a token cannot be theirs.
 */
export function peerLogin(e: ImapEndpoint): { user: string; password: string } {
  const auth = imapAuth(e);
  if (!auth?.pass || auth.authzid || auth.accessToken)
    throw new Error(`the bench's peer tools log in with LOGIN only; ${e.host}:${e.port} needs ${e.adminLogin ?? 'a token'}`);
  return { user: auth.user, password: auth.pass };
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

function store(name: string, e: ImapEndpoint): string {
  const login = peerLogin(e);
  return [
    `IMAPAccount ${name}`,
    `Host ${e.host}`,
    `Port ${e.port}`,
    `User ${quote(login.user)}`,
    `Pass ${quote(login.password)}`,
    `SSLType ${e.secure ? 'IMAPS' : 'None'}`,
    'AuthMechs LOGIN',
    '',
    `IMAPStore ${name}`,
    `Account ${name}`,
    '',
  ].join('\n');
}

/** Writes the config (mode 0600: it holds the lab passwords) and fresh, empty SyncState directories. */
export function prepareMbsync(dir: string, jobs: PeerJob[]): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const parts = jobs.map((job, i) => {
    const state = join(dir, `state-${i}`);
    mkdirSync(state);
    return [
      store(`far${i}`, job.source),
      store(`near${i}`, job.target),
      `Channel ch${i}`,
      `Far :far${i}:`,
      `Near :near${i}:`,
      'Patterns *',
      'Create Near',
      'Sync Pull',
      'Expunge None',
      'CopyArrivalDate yes',
      `SyncState ${state}/`,
      '',
    ].join('\n');
  });
  const config = join(dir, 'mbsyncrc');
  writeFileSync(config, parts.join('\n'), { mode: 0o600 });
  return config;
}

function checked(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code ?? r.signal}: ${r.output.slice(-2000)}`);
  return r;
}

/** All channels at once (one process each) or one after the other; resolves with each process's result. */
export async function runMbsync(config: string, channels: number, parallel: boolean): Promise<RunResult[]> {
  const one = async (i: number) => checked(await runTimed('mbsync', ['-q', '-c', config, `ch${i}`]), `mbsync ch${i}`);
  const ids = Array.from({ length: channels }, (_, i) => i);
  if (parallel) return Promise.all(ids.map(one));
  const results: RunResult[] = [];
  for (const i of ids) results.push(await one(i));
  return results;
}
