/**
 * Resume cost: the copy step in its own process is SIGKILLed at a seeded
 * random moment of its copy (a fraction of the mailbox on the target, watched
 * from outside, not a checkpoint line of the child), then a new process
 * resumes from the last checkpoint file through a relay that counts every
 * message the target receives. Re-transferred = messages the target received
 * after the restart − messages it was missing at the restart (counted once the
 * server has stored what the killed copy had already sent); the result must
 * still verify (every message exactly once).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeImap, openImap } from '../connectors/mail/connect';
import type { ImapEndpoint } from '../connectors/mail/types';
import { GROUP_BYTES, GROUP_MESSAGES } from '../connectors/mail/copy';
import { Rng } from '../lab/seed/rng';
import { startImapRelay } from '../lab/relays/imap';
import { copyInChild } from './copy';
import { wipeTarget, type BenchMailbox } from './lab';
import { verdictText, verifyAll } from './verify';

export interface ResumeResult {
  mailbox: string;
  messages: number;
  seed: number;
  /** the seeded share of the mailbox on the target at which the copy was killed */
  killFraction: number;
  checkpointsBeforeKill: number;
  onTargetWhenKilled: number;
  /**
   * on the target when the resumed copy started: a MULTIAPPEND group written whole (LITERAL+) before the kill is
   * still stored by the server after it, so this, not the count at the kill, is what the target was missing
   */
  onTargetAtRestart?: number;
  /** what the target received after the restart, counted by the relay */
  receivedAfterRestart: { messages: number; bytes: number };
  resumedCopied: number;
  resumedExisting: number;
  reTransferred: number;
  checkpointWindow: { messages: number; bytes: number };
  verdict: string;
}

/** The target's count once the server has stored whatever the killed copy had already sent (no change for 2 s). */
async function settledCount(endpoint: ImapEndpoint): Promise<number> {
  let last = await countMessages(endpoint);
  for (let still = 0; still < 10; ) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await countMessages(endpoint);
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return last;
}

async function countMessages(endpoint: ImapEndpoint): Promise<number> {
  const client = await openImap(endpoint);
  try {
    let n = 0;
    for (const folder of await client.list()) {
      if (folder.flags.has('\\Noselect')) continue;
      const status = await client.status(folder.path, { messages: true });
      n += status ? (status.messages ?? 0) : 0;
    }
    return n;
  } finally {
    await closeImap(client);
  }
}

/** Runs the copy child and SIGKILLs it once the target holds `atMessages`; resolves with the checkpoints it had printed. */
function killAtProgress(config: string, target: ImapEndpoint, atMessages: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'copyChild.ts'), config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let checkpoints = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (checkpoints += d.toString().split('\n').filter((l) => l.startsWith('checkpoint ')).length));
    let watching = true;
    const watch = async () => {
      while (watching) {
        const n = await countMessages(target).catch(() => 0);
        if (n >= atMessages) {
          child.kill('SIGKILL');
          return;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    void watch();
    child.on('error', reject);
    child.on('close', (code, signal) => {
      watching = false;
      if (signal === 'SIGKILL') resolve(checkpoints);
      else reject(new Error(`copy ended before the kill (${code}): ${stderr}`));
    });
  });
}

export async function resumeBench(box: BenchMailbox, seed: number, workDir: string): Promise<ResumeResult> {
  const dir = join(workDir, 'resume');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await wipeTarget([box.address]);
  const killFraction = 0.1 + new Rng(`bench-resume/${seed}`).next() * 0.8;
  const checkpointFile = join(dir, 'checkpoint.json');
  const config = join(dir, 'copy.json');
  writeFileSync(config, JSON.stringify({ jobs: [{ source: box.source, target: box.target }], checkpointFile }), { mode: 0o600 });
  const checkpointsBeforeKill = await killAtProgress(config, box.target, Math.ceil(killFraction * box.messages));
  const onTargetWhenKilled = await countMessages(box.target);
  const onTargetAtRestart = await settledCount(box.target);
  const relay = await startImapRelay(box.target.host, box.target.port);
  let resumed;
  try {
    resumed = (await copyInChild(dir, [{ ...box, target: { ...box.target, port: relay.port } }], [], checkpointFile)).results[0];
  } finally {
    await relay.close();
  }
  const missingAtRestart = resumed.messagesSource - onTargetAtRestart;
  return {
    mailbox: box.address,
    messages: box.messages,
    seed,
    killFraction,
    checkpointsBeforeKill,
    onTargetWhenKilled,
    onTargetAtRestart,
    receivedAfterRestart: { messages: relay.appends, bytes: relay.appendedBytes },
    resumedCopied: resumed.messagesCopied,
    resumedExisting: resumed.messagesExisting,
    reTransferred: relay.appends - missingAtRestart,
    checkpointWindow: { messages: GROUP_MESSAGES, bytes: GROUP_BYTES },
    verdict: verdictText(await verifyAll([box])),
  };
}
