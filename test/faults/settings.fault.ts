/**
 * Bad settings: a wrong admin password, an unreachable server, TLS required
 * but not offered, plaintext to a non-loopback host. Each is refused by
 * `settings set` with an error that names the cause, and nothing changes:
 * the settings kept before stay as they were. `settings show` never prints a
 * password.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { applySettings, buildSettings } from '../../client/settings';
import { orgState } from '../../client/org';
import { labOrganisation, ROOT, TSX, uniqueName } from '../helpers/backbone';
import type { ConnectionSettings } from '../../workflows/definitions';
import { recordVerified } from './helpers/results';
import { closeFaultContext, openFaultContext, type FaultContext } from './helpers/suite';

let ctx: FaultContext;
beforeAll(async () => {
  ctx = await openFaultContext('settings');
  await ctx.pool.start();
});
afterAll(() => closeFaultContext(ctx));

test('bad settings are refused with a clear error before anything changes', async () => {
  const { session, info } = ctx;
  const org = await labOrganisation(session, 'faults-settings', 2);
  const kept = (await orgState(session.client, org)).settings;
  expect(kept).not.toBeNull();
  const good = buildSettings({ lab: true, maxConcurrent: 2 }, session, org);
  const imap = good.source.imap;
  const bad: [string, ConnectionSettings, RegExp][] = [
    ['wrong admin password', { ...good, password: session.secrets.seal(org, 'Not-The-Password-1') }, /refused|AUTH_FAILED|password/i],
    ['unreachable server', { ...good, source: { ...good.source, imap: { ...imap, port: 1 } } }, /127\.0\.0\.1:1\b|reach|connect/i],
    ['TLS required, not offered', { ...good, source: { ...good.source, imap: { ...imap, secure: true } } }, /TLS negotiation .* does not offer implicit TLS/],
    ['plaintext to a non-loopback host', { ...good, source: { ...good.source, imap: { ...imap, host: '192.0.2.10' } } }, /clear text|TLS_REQUIRED|TLS/i],
  ];
  const notes: string[] = [];
  const refusals: { what: string; expected: RegExp; message: string; keptAfter: unknown }[] = [];
  for (const [what, settings, expected] of bad) {
    const started = Date.now();
    const refusal = await applySettings(session, org, settings).then(
      () => new Error(`${what}: accepted`),
      (err: unknown) => err as Error,
    );
    notes.push(`${what}: "${refusal.message}" (${Math.round((Date.now() - started) / 1000)} s)`);
    refusals.push({ what, expected, message: refusal.message, keptAfter: (await orgState(session.client, org)).settings });
  }
  // a new organisation refused on its first `settings set` has no settings at all
  const fresh = uniqueName('faults-fresh');
  const freshRefused = await applySettings(session, fresh, bad[0]![1]).then(() => false, () => true);
  const freshSettings = (await orgState(session.client, fresh)).settings;

  // `settings show` prints no password, sealed or plain
  const show = spawnSync(TSX, [join(ROOT, 'client', 'main.ts'), '--org', org, 'settings', 'show', '--json'], { env: ctx.pool.env, encoding: 'utf8' });
  const refusedAsExpected = refusals.filter((r) => expected(r)).length + (freshRefused ? 1 : 0);
  function expected(r: (typeof refusals)[number]): boolean {
    return r.expected.test(r.message) && JSON.stringify(r.keptAfter) === JSON.stringify(kept);
  }

  await recordVerified(
    {
      fault: 'bad settings refused',
      injected: bad.length + 1,
      injectedHow: 'bad settings handed to `settings set` (applySettings)',
      figures: `refused with the expected error, settings unchanged: ${refusedAsExpected}; accepted: ${refusals.filter((r) => r.message.endsWith(': accepted')).length + (freshRefused ? 0 : 1)}`,
      notes,
    },
    () => {
      for (const r of refusals) {
        expect(r.message).toMatch(r.expected);
        expect(r.message).not.toContain(info.onprem.imap.admin.password);
        // nothing changed: the organisation keeps the settings it had
        expect(r.keptAfter).toEqual(kept);
      }
      expect(freshRefused).toBe(true);
      expect(freshSettings).toBeNull();
      expect(show.status).toBe(0);
      expect(show.stdout).toContain('[sealed]');
      for (const secret of [info.onprem.imap.admin.password, info.onprem.ldap.password, info.onprem.dav.admin.password]) {
        expect(show.stdout + show.stderr).not.toContain(secret);
      }
      expect(show.stdout).not.toMatch(/sealed:v/);
    },
  );
});
