/**
 * The directory part of the live suite (`npm run test:m365`): the scenarios of
 * test/m365.directory.test.ts against a real Microsoft 365 tenant, through
 * the same connector and Microsoft's own Graph client. Skipped, saying so,
 * unless MAILFERRY_M365_TENANT_ID, _CLIENT_ID, _CERTIFICATE and _SKU are set;
 * the README's "Testing against a real tenant" says how to prepare one.
 *
 *   MAILFERRY_M365_MEU             a directory-synced MEU without a licence (required)
 *   MAILFERRY_M365_MAILBOX         a licensed user with a mailbox (required)
 *   MAILFERRY_M365_NON_EXCHANGE_SKU a SKU of the tenant without an Exchange mailbox plan (optional)
 *   MAILFERRY_M365_CONVERT=1       also license the MEU and wait for its mailbox (uses a licence; optional)
 *   MAILFERRY_M365_WAIT_MINUTES    how long that wait may take (default 60)
 */
import { randomUUID } from 'node:crypto';
import type { CloudDirectory } from '../../connectors/directory';
import { createGraphDirectory } from '../../connectors/m365/directory';
import { createGraphClient, GRAPH_URL } from '../../connectors/m365/graph';
import { createTokenProvider, GRAPH_SCOPE } from '../../connectors/m365/token';
import { MailferryError } from '../../shared/errors';

const env = process.env;
const configured = ['TENANT_ID', 'CLIENT_ID', 'CERTIFICATE', 'SKU', 'MEU', 'MAILBOX'].every((k) => env[`MAILFERRY_M365_${k}`]);
const live = configured ? describe : describe.skip;
if (!configured) {
  // straight to stderr: jest shows no console output of a file whose tests are all skipped
  process.stderr.write(
    'live Microsoft 365 directory scenarios skipped: set MAILFERRY_M365_TENANT_ID, _CLIENT_ID, _CERTIFICATE, _SKU, _MEU and _MAILBOX (README: Testing against a real tenant)\n',
  );
}

function directory(skuId: string): CloudDirectory {
  const tokens = createTokenProvider({ tenantId: env.MAILFERRY_M365_TENANT_ID!, clientId: env.MAILFERRY_M365_CLIENT_ID!, certificateFile: env.MAILFERRY_M365_CERTIFICATE! });
  return createGraphDirectory({
    graph: createGraphClient({ baseUrl: GRAPH_URL, accessToken: async () => (await tokens.getToken(GRAPH_SCOPE)).token }),
    routingDomain: 'unused.mail.onmicrosoft.com',
    license: { skuId, disabledPlans: [] },
    usageLocation: env.MAILFERRY_M365_USAGE_LOCATION,
    exchangeGuidGraceMinutes: 60,
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MailferryError) return error.code;
    throw error;
  }
  return 'no error';
}

live('Microsoft 365 tenant (live)', () => {
  const cloud = () => directory(env.MAILFERRY_M365_SKU!);

  test('preflight: directory synchronisation on, verified domains, the licence has an Exchange mailbox plan', async () => {
    const tenant = await cloud().tenant();
    expect(tenant.dirSyncEnabled).toBe(true);
    expect(tenant.acceptedDomains.length).toBeGreaterThan(0);
    await cloud().preflight!();
  });

  (env.MAILFERRY_M365_NON_EXCHANGE_SKU ? test : test.skip)('a licence without Exchange is refused', async () => {
    expect(await codeOf(directory(env.MAILFERRY_M365_NON_EXCHANGE_SKU!).preflight!())).toBe('LICENSE_WITHOUT_EXCHANGE');
  });

  test('the MEU is found as a synced mail user; an unknown address is not found', async () => {
    const meu = await cloud().findRecipient(env.MAILFERRY_M365_MEU!);
    expect(meu).toMatchObject({ recipientType: 'MailUser', directorySynced: true });
    expect(await cloud().findRecipient(`nobody-${randomUUID().slice(0, 8)}@${env.MAILFERRY_M365_MEU!.split('@')[1]}`)).toBeNull();
  });

  test('a password for the synced MEU is refused before anything changes', async () => {
    expect(await codeOf(cloud().convertToMailbox(env.MAILFERRY_M365_MEU!, { password: `Live-${randomUUID()}`, forceChangePassword: false }))).toBe('PASSWORD_SYNCED_USER');
  });

  test('a licensed user has a mailbox (mailboxSettings answers)', async () => {
    expect(await cloud().findRecipient(env.MAILFERRY_M365_MAILBOX!)).toMatchObject({ recipientType: 'UserMailbox' });
    await expect(cloud().mailboxStatus!(env.MAILFERRY_M365_MAILBOX!)).resolves.toEqual({ state: 'ready' });
  });

  (env.MAILFERRY_M365_CONVERT === '1' ? test : test.skip)(
    'licensing the MEU creates its mailbox within the wait',
    async () => {
      await expect(cloud().convertToMailbox(env.MAILFERRY_M365_MEU!, { forceChangePassword: false })).resolves.toMatchObject({ pending: true });
      const deadline = Date.now() + Number(env.MAILFERRY_M365_WAIT_MINUTES ?? 60) * 60_000;
      for (;;) {
        const status = await cloud().mailboxStatus!(env.MAILFERRY_M365_MEU!);
        if (status.state !== 'pending') {
          expect(status).toEqual({ state: 'ready' });
          return;
        }
        if (Date.now() > deadline) throw new Error('no mailbox within MAILFERRY_M365_WAIT_MINUTES');
        await new Promise((r) => setTimeout(r, 60_000));
      }
    },
    24 * 60 * 60_000,
  );
});
