/**
 * The admin's first hour, as the README tells it (scripts/test.sh runs this
 * after jest): `npm run demo`, then every command of the `sh` blocks of the
 * README's "The admin CLI" section, as written, each in a new shell with a
 * clean environment (`env -i` with PATH and HOME only), in the checkout. Then
 * the same CLI installed with `npm install -g .` into a scratch prefix, run
 * from another folder, and the "no worker" exit once the demo's worker is
 * stopped. Prints every command with its output; exits 1 on the first check
 * that fails.
 *
 * The demo alone gets the port variables (and the small seed profile, to
 * keep CI short): the commands after it must find everything in .state/.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { version } from '../package.json';

const ROOT = join(__dirname, '..');
const clean = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
const PORT_VARIABLES = ['MAILFERRY_LAB_PORT_BASE', 'MAILFERRY_TEMPORAL_PORT', 'MAILFERRY_TEMPORAL_UI_PORT', 'MAILFERRY_UI_CODEC_ENDPOINT'];

/** The commands of the ```sh blocks in one README section, in order. */
export function readmeCommands(readme: string, section: string): string[] {
  const start = readme.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`README has no section "## ${section}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const body = readme.slice(start, end < 0 ? undefined : end);
  return [...body.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
    m[1]
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
}

function run(command: string, env: Record<string, string>, cwd = ROOT, timeoutMs = 600_000) {
  console.log(`\n$ ${command}`);
  const r = spawnSync('env', ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'bash', '--noprofile', '--norc', '-c', command], {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  const out = `${r.stdout}${r.stderr}`;
  process.stdout.write(out);
  console.log(`[exit ${r.status}]`);
  return { code: r.status, out };
}

let failures = 0;
function expectThat(ok: boolean, what: string) {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${what}`);
  if (!ok) failures++;
}

const portEnv = Object.fromEntries(PORT_VARIABLES.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k] as string]));
const demo = run('npm run demo', { ...clean, ...portEnv, MAILFERRY_SEED_PROFILE: 'small' });
expectThat(demo.code === 0, 'npm run demo succeeds');
const org = /organisation (tailspintoys-demo-\d+)/.exec(demo.out)?.[1];
expectThat(Boolean(org), 'the demo names its organisation');

try {
  const commands = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'The admin CLI');
  expectThat(commands.length >= 4, `the README's CLI section has commands to run (${commands.length})`);
  for (const command of commands) {
    const r = run(command, clean, ROOT, 120_000);
    expectThat(r.code === 0, `\`${command}\` exits 0 in a clean environment`);
    if (/batch status/.test(command))
      expectThat(r.out.includes(`Batch 1 of ${org}`) && /: completed/.test(r.out), `\`${command}\` shows the demo's batch, completed`);
    if (/reports open/.test(command)) expectThat(r.out.includes('MailboxesReady.csv'), `\`${command}\` lists the Mailboxes Ready report`);
    if (/doctor/.test(command)) expectThat(r.out.includes('Everything a batch needs is in place.'), `\`${command}\` finds nothing wrong`);
    if (/--version/.test(command)) expectThat(r.out.trim() === version, `\`${command}\` prints ${version}`);
  }

  // installed as a command: `npm install -g .` links this folder into a scratch prefix
  const prefix = mkdtempSync(join(tmpdir(), 'mailferry-prefix-'));
  const elsewhere = mkdtempSync(join(tmpdir(), 'mailferry-cwd-'));
  try {
    const install = run(`npm install -g . --prefix ${prefix} --no-audit --no-fund --loglevel=error`, clean);
    expectThat(install.code === 0, 'npm install -g . succeeds');
    const installed = { ...clean, PATH: `${prefix}/bin:${clean.PATH}` };
    const v = run('mailferry --version', installed, elsewhere);
    expectThat(v.code === 0 && v.out.trim() === version, 'the installed `mailferry --version` works from another folder');
    const s = run('mailferry batch status', installed, elsewhere);
    expectThat(
      s.code === 0 && s.out.includes(`Batch 1 of ${org}`),
      'the installed `mailferry batch status` finds the demo from another folder',
    );
  } finally {
    rmSync(prefix, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  }
} finally {
  run('bash scripts/demo-down.sh --worker-only', clean);
}

// within a minute of the stop the worker still looks fresh to the server's poller list: the query path must tell
const noWorker = run('bin/mailferry batch status', clean);
expectThat(
  noWorker.code === 7 && noWorker.out.includes('npm run worker'),
  'with the worker stopped, `batch status` exits 7 and says how to start one',
);
const doctor = run('bin/mailferry doctor', clean);
expectThat(doctor.code === 7 && /FAIL +worker/.test(doctor.out), 'with the worker stopped, `doctor` fails the worker check and exits 7');

console.log(failures ? `\nREADME check: ${failures} failure(s)` : '\nREADME check: every command works');
process.exit(failures ? 1 : 0);
