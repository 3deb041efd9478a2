/**
 * A copy process killed with SIGKILL mid-way, then resumed in a new process
 * from its last checkpoint file, ends with every message exactly once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CopyCheckpoint, CopyResult } from '../connectors/mail/types';
import { verifyMailbox } from '../lab/verify';
import { createTestMailbox, labInfo, type TestMailbox } from './helpers/imap';

const CHILD = join(__dirname, 'mail-copy-child.ts');

interface ChildRun {
  checkpoints: number;
  killed: boolean;
  result?: CopyResult;
}

/** Runs the child copy; kills it with SIGKILL after `killAfter` checkpoints when given. */
function runChild(configFile: string, killAfter?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { checkpoints: 0, killed: false };
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('checkpoint ')) {
        run.checkpoints++;
        if (killAfter !== undefined && run.checkpoints >= killAfter && !run.killed) {
          run.killed = child.kill('SIGKILL');
        }
      } else if (line.startsWith('result ')) {
        run.result = JSON.parse(line.slice('result '.length)) as CopyResult;
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve(run);
      else reject(new Error(`copy child exited with ${code}: ${stderr}`));
    });
  });
}

describe('copy killed as a process', () => {
  let m: TestMailbox;
  let dir: string;

  beforeAll(async () => {
    m = await createTestMailbox(labInfo(), { messages: 400, seed: 3 });
    dir = mkdtempSync(join(tmpdir(), 'mf-crash-'));
  });

  afterAll(async () => {
    await m?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resumes from the last checkpoint file and ends with every message exactly once', async () => {
    const checkpointFile = join(dir, 'checkpoint.json');
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ source: m.source, target: m.target, checkpointFile }), { mode: 0o600 });

    const killed = await runChild(configFile, 3);
    expect(killed.killed).toBe(true);
    expect(killed.result).toBeUndefined();
    const saved = JSON.parse(readFileSync(checkpointFile, 'utf8')) as CopyCheckpoint;
    expect(Object.keys(saved.folders).length).toBeGreaterThan(0);

    const resumed = await runChild(configFile);
    const result = resumed.result as CopyResult;
    expect(result.badItems).toEqual([]);
    // Nothing is sent twice: what the killed run stored is found, not re-copied.
    expect(result.messagesCopied).toBeLessThan(result.messagesSource);
    const report = await verifyMailbox(m.source, m.target);
    expect(report.findings).toEqual([]);
  });
});
