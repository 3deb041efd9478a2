/**
 * The admin CLI as an admin runs it (a real process) against the dev server
 * and the lab: --dry-run and --json output parsed, `batch status --watch`
 * ending with the summary, `reports open`, and exit codes of refusals.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLabInfo } from '../lab/info';
import { csvOf, labOrganisation, ROOT, TestUsers, uniqueName } from './helpers/backbone';
import { ownQueue, type OwnQueue } from './helpers/operators';

let q: OwnQueue;
let users: TestUsers;

beforeAll(async () => {
  q = await ownQueue('cli');
  users = new TestUsers(readLabInfo());
}, 120_000);

afterAll(async () => {
  await q?.close();
  await users?.cleanup();
});

function mailferry(args: string[], env: NodeJS.ProcessEnv = q.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'client', 'main.ts'), ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('dry run, start, watch, status, reports open and a refusal, through the CLI', async () => {
  const a = await users.add('cli-a', { messages: 400, contacts: 1, events: 1 });
  const b = await users.add('cli-b', { messages: 5, contacts: 1, events: 1 });
  const org = await labOrganisation(q.session, 'cli', 1);
  const file = join(tmpdir(), `${org}.csv`);
  writeFileSync(
    file,
    csvOf([
      [a.address, '', 'False'],
      [b.address, '', 'False'],
      ['not-an-address', '', 'False'],
    ]),
  );

  const dry = await mailferry(['--org', org, 'batch', 'start', '--csv', file, '--dry-run', '--json']);
  expect(dry.code).toBe(0);
  expect(JSON.parse(dry.stdout)).toEqual([
    { line: 2, address: a.address, plan: 'new: all steps' },
    { line: 3, address: b.address, plan: 'new: all steps' },
    { line: 4, address: '(not shown: 14 characters)', plan: expect.stringMatching(/^skipped: /) },
  ]);

  const start = await mailferry(['--org', org, 'batch', 'start', '--csv', file, '--json']);
  expect(start.code).toBe(0);
  const started = JSON.parse(start.stdout) as { batch: number; workflowId: string };
  expect(started).toEqual({ batch: 1, workflowId: `${org}/batch/1` });
  expect(start.stderr).toMatch(/warning: line 4: \(not shown: 14 characters\)/);

  const watch = await mailferry(['--org', org, 'batch', 'status', '--watch']);
  if (process.env.MF_DEBUG === '1') console.log(watch.stdout);
  expect(watch.code).toBe(0);
  expect(watch.stdout).toMatch(/batch 1 +\[/);
  expect(watch.stdout).toContain(a.address.slice(0, 20));
  expect(watch.stdout).toMatch(new RegExp(`Batch 1 of ${org} \\(${org}/batch/1\\): completed`));

  const status = await mailferry(['--org', org, 'batch', 'status', '--json']);
  const s = JSON.parse(status.stdout) as { phase: string; completed: number; copyRate: unknown };
  expect([s.phase, s.completed]).toEqual(['completed', 2]);
  expect(s.copyRate).not.toBeNull();

  const reports = await mailferry(['--org', org, 'reports', 'open', '--batch', '1', '--json']);
  const where = JSON.parse(reports.stdout) as { folders: { folder: string; files: { name: string; here: boolean }[] }[] };
  expect(where.folders.map((f) => f.folder.split('/').slice(-2).join('/'))).toEqual([
    'batch-1/mailboxesReady',
    'batch-1/migrationComplete',
  ]);
  expect(where.folders.flatMap((f) => f.files).every((f) => f.here)).toBe(true);

  const consolidated = await mailferry(['--org', org, 'reports', 'consolidated', '--json']);
  expect(consolidated.code).toBe(0);
  const perMailbox = JSON.parse(consolidated.stdout) as { EmailAddress: string; Batches: string; State: string; MessagesCopied: number }[];
  expect(perMailbox.map((r) => [r.EmailAddress, r.Batches, r.State, r.MessagesCopied]).sort()).toEqual(
    [
      [a.address, '1', 'completed', 400],
      [b.address, '1', 'completed', 5],
    ].sort(),
  );

  const refused = await mailferry(['--org', org, 'batch', 'concurrency', '4']);
  expect(refused.code).toBe(4);
  expect(refused.stderr).toMatch(/has no active batch/);
  // copy rules belong to a whole batch: `batch add` takes the flags only to say so, and lists them nowhere
  const addRules = await mailferry(['--org', org, 'batch', 'add', '--csv', file, '--batch', '1', '--rename-folder', 'Junk=Spam']);
  expect([addRules.code, addRules.stderr]).toEqual([2, expect.stringContaining("--rename-folder: `batch add` puts the rows into batch 1, whose copy rules were fixed when it started (none: every folder and message is copied)")]);
  expect(addRules.stderr).toContain(`mailferry batch start --csv ${file} --rename-folder ...`);
  const addHelp = await mailferry(['batch', 'add', '--help']);
  expect(addHelp.stdout).toContain("they run under the batch's copy rules");
  expect(addHelp.stdout).not.toContain('--rename-folder');
  const bad = await mailferry(['--org', org, 'batch', 'start', '--csv', file, '--start-after', 'tomorrow-ish']);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/ISO date-time .* or a duration/);

  // a CLI with another key than the worker's: a configuration problem (6), not "unexpected"
  const { MAILFERRY_CODEC_KEY_FILE: _file, ...withoutKeyFile } = q.env;
  const wrongKey = await mailferry(['--org', org, 'batch', 'status'], {
    ...withoutKeyFile,
    MAILFERRY_CODEC_KEY: randomBytes(32).toString('base64'),
  });
  expect([wrongKey.code, wrongKey.stderr]).toEqual([
    6,
    expect.stringMatching(/failed authentication.*give it the worker's MAILFERRY_CODEC_KEY_FILE/),
  ]);
}, 300_000);

test('settings set as an admin types them: the IMAP admin login form round-trips, and the connection test tells FullAccess from a wrong password', async () => {
  const side = readLabInfo().onprem;
  const org = uniqueName('cli-login');
  const env = { ...q.env, MF_ADMIN_PW: side.imap.admin.password, MF_LDAP_PW: side.ldap.password, MF_WRONG_PW: 'Not-The-Password-1' };
  const set = (extra: string[]) =>
    mailferry(
      [
        '--org',
        org,
        'settings',
        'set',
        '--username',
        side.imap.admin.user,
        '--imap',
        `${side.imap.host}:${side.imap.port}`,
        '--imap-admin-login',
        'authzid',
        '--exchange-server',
        'exch.onprem.test',
        '--ldap-url',
        side.ldap.url,
        '--ldap-base-dn',
        side.ldap.suffix,
        '--ldap-bind-dn',
        side.ldap.bindDn,
        '--ldap-ca-file',
        side.ldap.caFile ?? '',
        '--ldap-password-env',
        'MF_LDAP_PW',
        '--dav-url',
        side.dav.url,
        '--dav-user',
        side.dav.admin.user,
        '--password-env',
        'MF_ADMIN_PW',
        ...extra,
      ],
      env,
    );

  // the admin's login for a mailbox it may not open (Dovecot: [AUTHORIZATIONFAILED])
  const other = `${uniqueName('no-access')}@tailspintoys.com`;
  const denied = await set(['--admin-email', other]);
  expect(denied.code).toBe(4);
  expect(denied.stderr).toContain(
    `the admin account ${side.imap.admin.user} authenticated but may not open ${other}: grant it FullAccess (Add-MailboxPermission -Identity ${other} -User ${side.imap.admin.user} -AccessRights FullAccess)`,
  );
  const wrong = await set(['--admin-email', side.imap.admin.user, '--password-env', 'MF_WRONG_PW']);
  expect([wrong.code, wrong.stderr]).toEqual([4, expect.stringMatching(/admin account .* was refused: wrong user name or password/)]);
  const bogus = await set(['--admin-email', side.imap.admin.user, '--imap-admin-login', 'impersonate']);
  expect([bogus.code, bogus.stderr]).toEqual([2, expect.stringMatching(/--imap-admin-login: one of authzid, exchange-path, master/)]);

  const ok = await set(['--admin-email', side.imap.admin.user]);
  expect([ok.code, ok.stderr]).toEqual([0, '']);
  const shown = await mailferry(['--org', org, 'settings', 'show', '--json'], env);
  const settings = (JSON.parse(shown.stdout) as { settings: { source: { imap: unknown; masterUser: string } } }).settings;
  expect(settings.source.imap).toEqual({
    host: side.imap.host,
    port: side.imap.port,
    secure: false,
    allowPlaintext: false,
    adminLogin: 'authzid',
  });
  expect(settings.source.masterUser).toBe(side.imap.admin.user);
}, 180_000);
