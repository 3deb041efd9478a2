/**
 * A copy process killed with SIGKILL at a random APPEND (seeded, printed,
 * replayable with MAILFERRY_KILL_SEED), then resumed in a new process from
 * its last checkpoint file, against three targets: plain Dovecot, a target
 * that rewrites every message it stores, and one without MULTIAPPEND. The
 * relay in front of each counts what the target received after the restart:
 * at most one checkpoint window (GROUP_MESSAGES) is sent again, no folder the
 * checkpoint calls done is opened again, and the verifier finds every message
 * (by bytes; by Message-ID, date and flags on the rewriting target).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { GROUP_MESSAGES } from '../connectors/mail/copy';
import type { CopyCheckpoint, CopyResult, ImapEndpoint } from '../connectors/mail/types';
import { startImapRelay, type ImapRelay } from '../lab/relays/imap';
import { Rng } from '../lab/seed/rng';
import { verifyMailbox } from '../lab/verify';
import { appendMessages, createTestMailbox, labInfo, rawMessage, type TestMailbox } from './helpers/imap';
import { compareOn, TARGETS, verifierIn } from './helpers/targets';

jest.setTimeout(300_000);

const CHILD = join(__dirname, 'mail-copy-child.ts');
/** messages without a Message-ID, which only the checkpoint (or subject and date) identifies on a rewriting target */
const WITHOUT_ID = 80;

interface ChildRun {
  checkpoints: number;
  killed: boolean;
  result?: CopyResult;
}

/** Runs the child copy; `kill` receives a function that SIGKILLs it. */
function runChild(configFile: string, kill?: (killNow: () => void) => void): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { checkpoints: 0, killed: false };
    kill?.(() => {
      if (!run.killed) run.killed = child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('checkpoint ')) run.checkpoints++;
      else if (line.startsWith('result ')) run.result = JSON.parse(line.slice('result '.length)) as CopyResult;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve(run);
      else reject(new Error(`copy child exited with ${code}: ${stderr}`));
    });
  });
}

describe.each(TARGETS)('copy killed as a process, to %s', (name, relayOptions) => {
  let m: TestMailbox;
  let dir: string;
  let relay: ImapRelay;
  let killNow: (() => void) | undefined;
  let killAt = 0;

  beforeAll(async () => {
    m = await createTestMailbox(labInfo(), { messages: 300, seed: 3 });
    await appendMessages(
      m.source,
      'INBOX',
      Array.from({ length: WITHOUT_ID }, (_, i) => ({ raw: rawMessage({ subject: `no id ${i}`, messageId: null }), date: new Date(Date.UTC(2024, 2, 1, 10, 0, i)) })),
    );
    dir = mkdtempSync(join(tmpdir(), 'mf-crash-'));
    relay = await startImapRelay(m.target.host, m.target.port, { ...relayOptions, onAppend: (n) => n === killAt && killNow?.() });
  });

  afterAll(async () => {
    await relay?.close();
    await m?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resumes from the last checkpoint file: at most one window sent again, every message there', async () => {
    const checkpointFile = join(dir, 'checkpoint.json');
    const configFile = join(dir, 'config.json');
    const target: ImapEndpoint = { ...m.target, port: relay.port };
    writeFileSync(configFile, JSON.stringify({ source: m.source, target, checkpointFile }), { mode: 0o600 });

    const seed = process.env.MAILFERRY_KILL_SEED ?? String(Date.now() % 1_000_000);
    // in the second half of the copy: INBOX (the first folder) is done, so what the checkpoint spares shows
    killAt = new Rng(`mail crash/${name}/${seed}`).int(220, 300 + WITHOUT_ID - 10);
    console.log(`${name}: kill seed ${seed} → SIGKILL at APPEND ${killAt} (replay with MAILFERRY_KILL_SEED=${seed})`);
    const killed = await runChild(configFile, (k) => (killNow = k));
    expect(killed.killed).toBe(true);
    expect(killed.result).toBeUndefined();
    const saved = JSON.parse(readFileSync(checkpointFile, 'utf8')) as CopyCheckpoint;
    const doneWithMail = Object.values(saved.folders).filter((f) => f.done && f.lastUid > 0).length;
    const before = relay.appends;
    const openedBefore = relay.opened.length;

    const resumed = await runChild(configFile);
    const result = resumed.result as CopyResult;
    const after = relay.appends - before;
    const resent = before + after - result.messagesSource;
    const reopened = new Set(relay.opened.slice(openedBefore)).size;
    console.log(
      `${name}: ${result.messagesSource} messages; killed at APPEND ${before} (${killed.checkpoints} checkpoints, ${doneWithMail} folders with mail done); ` +
        `after the restart ${after} APPENDs, ${Math.max(resent, 0)} sent again, ${reopened} target folders opened; bad items ${result.badItems.length}`,
    );
    expect(result.badItems).toEqual([]);
    expect(resent).toBeLessThanOrEqual(GROUP_MESSAGES);
    expect(doneWithMail).toBeGreaterThan(0);

    const report = await verifyMailbox(m.source, m.target, { compare: compareOn(relayOptions) });
    console.log(`${name}: verifier (${verifierIn(relayOptions)}): ${report.missing} missing, ${report.extra} extra, ${report.different} different`);
    expect(report.missing).toBe(0);
    expect(report.extra).toBeLessThanOrEqual(Math.max(resent, 0));
    if (!relayOptions.rewrite) expect(report.findings).toEqual([]);

    // and a copy that lost its checkpoint sends nothing again
    const lostBefore = relay.appends;
    const lostOpenedBefore = relay.opened.length;
    writeFileSync(join(dir, 'lost.json'), JSON.stringify({ source: m.source, target, checkpointFile: join(dir, 'fresh.json') }), { mode: 0o600 });
    const lost = await runChild(join(dir, 'lost.json'));
    expect(lost.result?.messagesCopied).toBe(0);
    expect(relay.appends - lostBefore).toBe(0);
    // the checkpoint spares the folders it calls done: the resumed copy opened only the others on the target
    const withMail = new Set(relay.opened.slice(lostOpenedBefore)).size;
    expect(reopened).toBeLessThanOrEqual(withMail - doneWithMail);
  });

  it('is told apart by the verifier: bytes differ only on the rewriting target', async () => {
    const byBytes = await verifyMailbox(m.source, m.target);
    if (relayOptions.rewrite) expect(byBytes.missing).toBeGreaterThan(0);
    else expect(byBytes.findings).toEqual([]);
    const byId = await verifyMailbox(m.source, m.target, { compare: 'message-id' });
    expect(byId.missing).toBe(0);
  });
});
