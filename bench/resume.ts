/**
 * Resume cost: the copy step in its own process is SIGKILLed after some
 * checkpoints, then a new process resumes from the last checkpoint file.
 * Re-transferred = what the target held when killed + what the resumed run
 * sent − what the source has (what was sent twice), and the result must
 * still verify (every message exactly once).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { closeImap, openImap } from '../connectors/mail/connect';
import type { ImapEndpoint } from '../connectors/mail/types';
import { GROUP_BYTES, GROUP_MESSAGES } from '../connectors/mail/copy';
import { copyInChild } from './copy';
import { wipeTarget, type BenchMailbox } from './lab';
import { verdictText, verifyAll } from './verify';

export interface ResumeResult {
  mailbox: string;
  messages: number;
  checkpointsBeforeKill: number;
  onTargetWhenKilled: number;
  resumedCopied: number;
  resumedExisting: number;
  reTransferred: number;
  checkpointWindow: { messages: number; bytes: number };
  verdict: string;
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

function killAfter(config: string, checkpoints: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'copyChild.ts'), config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let seen = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('checkpoint ') && ++seen === checkpoints) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) =>
      signal === 'SIGKILL' ? resolve(seen) : reject(new Error(`copy ended before the kill (${code}): ${stderr}`)),
    );
  });
}

export async function resumeBench(box: BenchMailbox, killAtCheckpoint: number, workDir: string): Promise<ResumeResult> {
  const dir = join(workDir, 'resume');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await wipeTarget([box.address]);
  const checkpointFile = join(dir, 'checkpoint.json');
  const config = join(dir, 'copy.json');
  writeFileSync(config, JSON.stringify({ jobs: [{ source: box.source, target: box.target }], checkpointFile }), { mode: 0o600 });
  const checkpointsBeforeKill = await killAfter(config, killAtCheckpoint);
  const onTargetWhenKilled = await countMessages(box.target);
  const resumed = (await copyInChild(dir, [box], [], checkpointFile)).results[0];
  return {
    mailbox: box.address,
    messages: box.messages,
    checkpointsBeforeKill,
    onTargetWhenKilled,
    resumedCopied: resumed.messagesCopied,
    resumedExisting: resumed.messagesExisting,
    reTransferred: onTargetWhenKilled + resumed.messagesCopied - resumed.messagesSource,
    checkpointWindow: { messages: GROUP_MESSAGES, bytes: GROUP_BYTES },
    verdict: verdictText(await verifyAll([box])),
  };
}
