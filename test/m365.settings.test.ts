/**
 * `settings set --target m365`: zod-checked options with messages naming the
 * flag as the admin types it (`--client-id`, never `--clientId`), the certificate's private key sealed for the organisation (never in
 * the settings as plaintext), `settings show` printing it as [sealed], and no
 * target at all without --target (the generic LDAP/IMAP/DAV target stays).
 */
import { readFileSync } from 'node:fs';
import type { Session } from '../client/connection';
import { CliError } from '../client/errors';
import { buildSettings, redactSettings, type SettingsOptions } from '../client/settings';
import { LAB_SKU } from '../client/target';
import { readLabInfo, type LabInfo } from '../lab/info';
import type { M365TargetSettings } from '../shared/domain';
import { testSession } from './helpers/backbone';

const info: LabInfo = readLabInfo();
let session: Session;
const org = 'm365-settings';

beforeAll(async () => {
  session = await testSession();
});
afterAll(() => session.close());

const m365 = (extra: Partial<SettingsOptions> = {}): SettingsOptions => ({
  lab: true,
  target: 'm365',
  tenant: info.m365.tenantId,
  clientId: info.m365.app.clientId,
  certificate: info.m365.app.certificateFile,
  privateKey: info.m365.app.privateKeyFile,
  routingDomain: 'contoso.mail.onmicrosoft.com',
  sku: LAB_SKU,
  ...extra,
});

function cliError(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
}

test('the certificate and key are sealed for the organisation and shown as [sealed]', () => {
  const settings = buildSettings(m365({ disabledPlans: '113feb6c-3fe4-4440-bddc-54d774bf0318', usageLocation: 'FR', provisioningTimeout: '120' }), session, org);
  const target = settings.target as M365TargetSettings;
  expect(target).toMatchObject({
    kind: 'm365',
    tenantId: info.m365.tenantId,
    routingDomain: 'contoso.mail.onmicrosoft.com',
    license: { skuId: LAB_SKU, disabledPlans: ['113feb6c-3fe4-4440-bddc-54d774bf0318'] },
    usageLocation: 'FR',
    provisioningTimeoutMinutes: 120,
  });
  const key = readFileSync(info.m365.app.privateKeyFile, 'utf8').trim().split('\n')[1];
  expect(JSON.stringify(settings)).not.toContain(key);
  expect(session.secrets.unseal(org, target.certificate)).toContain(key);
  const shown = JSON.stringify(redactSettings(settings));
  expect(shown).toContain('"certificate":"[sealed]"');
  expect(shown).not.toContain(target.certificate);
});

test.each([
  [{ clientId: 'not-a-guid' }, '--client-id: expected a GUID'],
  [{ sku: '12' }, '--sku: expected a GUID'],
  [{ usageLocation: 'usa' }, '--usage-location: expected an ISO 3166 country code'],
  [{ provisioningTimeout: '1' }, '--provisioning-timeout: at least 5 minutes'],
  [{ target: 'exchange' }, '--target: generic (LDAP/IMAP/DAV of the worker) or m365'],
  [{ certificate: info.m365.app.privateKeyFile, privateKey: undefined }, 'holds no PEM certificate'],
] as [Partial<SettingsOptions>, string][])('a bad option is refused with the flag named: %j', (extra, message) => {
  expect(cliError(() => buildSettings(m365(extra), session, org)).message).toContain(message);
});

test.each([
  [{ maxConcurrent: '20' }, '--max-concurrent: at most 10'],
  [{ imapAdminLogin: 'exchange-path', username: 'admin' }, '--imap-admin-login: exchange-path logs in as DOMAIN\\admin\\alias'],
  [{ ldapUrl: 'not a url' }, '--ldap-url: '],
  [{ adminEmail: 'nobody' }, '--admin-email: '],
] as [Partial<SettingsOptions>, string][])('a bad connection option is refused with the flag as typed, not its camelCase name: %j', (extra, message) => {
  const error = cliError(() => buildSettings({ lab: true, ...extra }, session, org));
  expect(error.message).toContain(message);
  expect(error.message).not.toMatch(/--[a-z]+[A-Z]/);
});

test('without --target the settings carry no target: the generic one of the worker stays', () => {
  expect(buildSettings({ lab: true }, session, org).target).toBeUndefined();
});
