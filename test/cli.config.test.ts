/**
 * Configuration problems, as a new admin meets them: each exits with its
 * documented code and names the command that fixes it; settings come from
 * `.env` in the working directory or `--env-file`, the environment winning;
 * `mailferry init` writes a file the worker accepts. Real CLI processes
 * against the real dev server; no worker is needed (none polls these queues).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvFile } from '../shared/envFile';
import { loadWorkerEnv } from '../worker/config';
import { ROOT } from './helpers/backbone';

const key = () => randomBytes(32).toString('base64');
let dir: string;
/** no .env here, and an empty state folder: nothing but what a test gives is read */
let base: Record<string, string>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailferry-config-'));
  base = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    MAILFERRY_STATE_DIR: join(dir, 'state'),
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    MAILFERRY_TASK_QUEUE: `mailferry-noworker-${randomBytes(3).toString('hex')}`,
  };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function mailferry(args: string[], env: Record<string, string>, cwd = dir) {
  const r = spawnSync(join(ROOT, 'bin', 'mailferry'), args, { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('no organisation, no key, a bad key, an unreadable --env-file: exit 6 with the fix', () => {
  const noOrg = mailferry(['batch', 'status'], { ...base, MAILFERRY_CODEC_KEY: key() });
  expect([noOrg.code, noOrg.out]).toEqual([6, expect.stringContaining('mailferry init --org NAME')]);

  const noKey = mailferry(['--org', 'contoso', 'batch', 'status'], base);
  expect([noKey.code, noKey.out]).toEqual([6, expect.stringMatching(/No payload encryption key.*mailferry init/s)]);

  const badKey = mailferry(['--org', 'contoso', 'batch', 'status'], { ...base, MAILFERRY_CODEC_KEY: 'not-a-key' });
  expect([badKey.code, badKey.out]).toEqual([6, expect.stringContaining('does not hold the base64 text of exactly 32 bytes')]);

  const noFile = mailferry(['--env-file', 'missing.env', '--org', 'contoso', 'batch', 'status'], base);
  expect([noFile.code, noFile.out]).toEqual([6, expect.stringContaining('Cannot read the settings file')]);
});

test('server unreachable exits 3; no worker on the task queue exits 7, at once, naming `npm run worker`', () => {
  const down = mailferry(['--org', 'contoso', 'batch', 'status'], { ...base, MAILFERRY_CODEC_KEY: key(), TEMPORAL_ADDRESS: '127.0.0.1:1' });
  expect([down.code, down.out]).toEqual([3, expect.stringContaining('npm run temporal:up')]);

  const started = Date.now();
  const noWorker = mailferry(['--org', 'contoso', 'batch', 'status'], { ...base, MAILFERRY_CODEC_KEY: key() });
  expect([noWorker.code, noWorker.out]).toEqual([
    7,
    expect.stringContaining(`No worker polls the task queue "${base.MAILFERRY_TASK_QUEUE}"`),
  ]);
  expect(noWorker.out).toContain('npm run worker');
  // the pre-check answers, not a query left to time out (30 s on the dev server)
  expect(Date.now() - started).toBeLessThan(20_000);
});

test('.env in the working directory and --env-file are read; the environment wins over them', () => {
  writeFileSync(join(dir, '.env'), `MAILFERRY_ORG=from-dotenv\nMAILFERRY_CODEC_KEY=${key()}\nTEMPORAL_ADDRESS=127.0.0.1:2\n`);
  const { TEMPORAL_ADDRESS: _t, ...noAddress } = base;
  const fromDotenv = mailferry(['batch', 'status'], noAddress);
  expect([fromDotenv.code, fromDotenv.out]).toEqual([3, expect.stringContaining('127.0.0.1:2')]);

  const envWins = mailferry(['batch', 'status'], { ...noAddress, TEMPORAL_ADDRESS: '127.0.0.1:3' });
  expect(envWins.out).toContain('127.0.0.1:3');

  writeFileSync(join(dir, 'other.env'), `MAILFERRY_ORG=Bad_Name\nMAILFERRY_CODEC_KEY=${key()}\n`);
  const explicit = mailferry(['--env-file', 'other.env', 'batch', 'status'], base);
  expect([explicit.code, explicit.out]).toEqual([2, expect.stringContaining('"Bad_Name" is not valid')]);
});

test('a key file named in a settings file is found beside it, from any folder', () => {
  writeFileSync(join(dir, 'codec.key'), `${key()}\n`);
  writeFileSync(join(dir, 'settings.env'), 'MAILFERRY_CODEC_KEY_FILE=./codec.key\n');
  const env: NodeJS.ProcessEnv = {};
  loadEnvFile(join(dir, 'settings.env'), { cwd: ROOT, env });
  expect(env.MAILFERRY_CODEC_KEY_FILE).toBe(join(dir, 'codec.key'));
  // an inline key in the environment is not mixed with the file's key file
  const mixed: NodeJS.ProcessEnv = { MAILFERRY_CODEC_KEY: key() };
  loadEnvFile(join(dir, 'settings.env'), { env: mixed });
  expect(mixed.MAILFERRY_CODEC_KEY_FILE).toBeUndefined();
});

test('mailferry init --lab writes a .env (mode 600) and a key that the worker accepts, and checks them', () => {
  const init = mailferry(['--org', 'contoso-init', 'init', '--lab', '--task-queue', base.MAILFERRY_TASK_QUEUE], base);
  expect(init.code).toBe(0);
  expect(init.out).toMatch(/ok +Temporal server/);
  expect(init.out).toMatch(/FAIL +worker/);
  expect(init.out).toContain('npm run worker');
  const file = join(dir, '.env');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(statSync(join(dir, 'codec.key')).mode & 0o777).toBe(0o600);
  const env: NodeJS.ProcessEnv = {};
  loadEnvFile(file, { env });
  expect(loadWorkerEnv(env).MAILFERRY_CLOUD_IMAP_MASTER_USER).toBe('admin@cloud.test');
  expect(env.MAILFERRY_ORG).toBe('contoso-init');
  // the passwords are in the file (mode 600) but never on the terminal
  expect(init.out).not.toContain(readFileSync(file, 'utf8').match(/MAILFERRY_CLOUD_IMAP_PASSWORD='([^']+)'/)?.[1]);

  const again = mailferry(['--org', 'contoso-init', 'init', '--lab'], base);
  expect([again.code, again.out]).toEqual([4, expect.stringContaining('--force')]);

  const doctor = mailferry(['doctor'], base);
  expect(doctor.code).toBe(7);
  expect(doctor.out).toMatch(/ok +payload key/);
  expect(doctor.out).toMatch(/FAIL +worker .*\n +fix: start one with `npm run worker`/);
});

test('the worker names the settings file and the variable that is wrong', () => {
  writeFileSync(join(dir, 'worker.env'), 'MAILFERRY_CLOUD_IMAP_PORT=not-a-port\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'worker', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: base.PATH, HOME: base.HOME, MAILFERRY_STATE_DIR: base.MAILFERRY_STATE_DIR, MAILFERRY_ENV_FILE: join(dir, 'worker.env') },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(`(with ${join(dir, 'worker.env')})`);
  expect(r.stderr).toContain('MAILFERRY_CLOUD_IMAP_PORT');
  expect(r.stderr).not.toContain('not-a-port');
});
