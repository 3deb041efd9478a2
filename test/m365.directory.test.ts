/**
 * The Graph directory connector against the lab's Graph stand-in (each test a
 * tenant of its own) and the lab's on-premises AD: the preflight and row
 * refusals Microsoft documents, the licence, the mailbox that follows it, the
 * synced-msExchMailboxGuid case, passwords, and Graph's throttling. Every
 * request the connector sent and every answer it got are checked against
 * Graph v1.0's CSDL: the suite ends with no violation recorded.
 */
import { randomUUID } from 'node:crypto';
import { preflight, verifyMeu, type CloudDirectory, type SourceDirectory } from '../connectors/directory';
import { createGraphDirectory } from '../connectors/m365/directory';
import { createGraphClient } from '../connectors/m365/graph';
import { DOMAINS } from '../lab/config';
import { createLabTenant, GRAPH_URL, labUsers, setPageSize, setThrottle, tenantStats, violations, type LabTenant } from '../lab/graph/control';
import type { LabDirectory } from '../lab/graph/directory';
import { readLabInfo, type LabInfo } from '../lab/info';
import { createOrgUser, removeOrgUser } from '../lab/users';
import { checkRows } from '../shared/csv/rows';
import { expectCode, labDirectories } from './helpers/lab';

export const E3 = '6fd2c87f-b296-42f0-b197-1e91e994b900';
export const EXCHANGE_PLAN = 'efb87545-963c-4e0d-99df-69c6916d9eb0';
const TEAMS_SKU = '710779e8-3d4a-4c88-adb9-386c958d1fdf';
const SKUS: LabDirectory['skus'] = [
  {
    skuId: E3,
    skuPartNumber: 'ENTERPRISEPACK',
    servicePlans: [
      { servicePlanId: EXCHANGE_PLAN, servicePlanName: 'EXCHANGE_S_ENTERPRISE' },
      { servicePlanId: '5dbe027f-2339-4123-9542-606e4d348a72', servicePlanName: 'SHAREPOINTENTERPRISE' },
    ],
  },
  // Exchange features without a mailbox
  { skuId: TEAMS_SKU, skuPartNumber: 'TEAMS_EXPLORATORY', servicePlans: [{ servicePlanId: '113feb6c-3fe4-4440-bddc-54d774bf0318', servicePlanName: 'EXCHANGE_S_FOUNDATION' }] },
];

let info: LabInfo;
let source: SourceDirectory;
const created: string[] = [];
const tenants: string[] = [];

async function onPremMailbox(domain: string = DOMAINS.primary): Promise<string> {
  const address = `m365-${randomUUID().slice(0, 8)}@${domain}`;
  await createOrgUser(info, { address, password: 'Onprem-P4ss', kind: domain === DOMAINS.federated ? 'federated' : 'normal', messages: 0, contacts: 0, events: 0, withMeu: false });
  created.push(address);
  return address;
}

interface TenantSpec {
  onPremisesSyncEnabled?: boolean;
  domains?: LabDirectory['domains'];
  users?: LabDirectory['users'];
  provisioningDelayMs?: number;
}

/** A fresh stand-in tenant and the connector for it, as the worker builds it (license and grace from the settings). */
async function tenantWith(spec: TenantSpec, license = { skuId: E3, disabledPlans: [] as string[] }): Promise<{ lab: LabTenant; cloud: CloudDirectory }> {
  const lab = await createLabTenant({
    onPremisesSyncEnabled: spec.onPremisesSyncEnabled ?? true,
    provisioningDelayMs: spec.provisioningDelayMs ?? 0,
    domains: spec.domains ?? [
      { id: DOMAINS.primary, isDefault: true },
      { id: DOMAINS.federated, authenticationType: 'Federated' },
    ],
    skus: SKUS,
    users: spec.users ?? [],
  });
  tenants.push(lab.tenant);
  const cloud = createGraphDirectory({
    graph: createGraphClient({ baseUrl: GRAPH_URL, accessToken: async () => lab.token }),
    routingDomain: 'tailspintoys.mail.onmicrosoft.com',
    license,
    usageLocation: 'US',
    exchangeGuidGraceMinutes: 0,
  });
  return { lab, cloud };
}

type LabUserSpec = NonNullable<LabDirectory['users']>[number];
const meu = (address: string, extra: Partial<LabUserSpec> = {}): LabUserSpec => ({
  userPrincipalName: address,
  mail: address,
  proxyAddresses: [`SMTP:${address}`],
  ...extra,
});

beforeAll(() => {
  info = readLabInfo();
  ({ source } = labDirectories(info));
});

afterAll(async () => {
  for (const address of created) await removeOrgUser(info, address);
  await source.close();
});

afterEach(async () => {
  // whatever the connector sent, and whatever the stand-in answered, is Graph v1.0
  for (const tenant of tenants.splice(0)) expect(await violations(tenant)).toEqual([]);
});

describe('preflight', () => {
  test('refuses a tenant without directory synchronisation', async () => {
    const { cloud } = await tenantWith({ onPremisesSyncEnabled: false });
    await expectCode(preflight(source, cloud), 'DIRSYNC_DISABLED');
  });

  test('passes a tenant with directory synchronisation and an Exchange licence', async () => {
    const { cloud } = await tenantWith({});
    await expect(preflight(source, cloud)).resolves.toMatchObject({ tenant: { dirSyncEnabled: true, federatedDomains: [DOMAINS.federated] } });
  });

  test('refuses a licence without an Exchange Online mailbox plan, or with it disabled', async () => {
    const teams = await tenantWith({}, { skuId: TEAMS_SKU, disabledPlans: [] });
    await expectCode(preflight(source, teams.cloud), 'LICENSE_WITHOUT_EXCHANGE');
    const disabled = await tenantWith({}, { skuId: E3, disabledPlans: [EXCHANGE_PLAN] });
    await expectCode(preflight(source, disabled.cloud), 'LICENSE_WITHOUT_EXCHANGE');
    const unowned = await tenantWith({}, { skuId: randomUUID(), disabledPlans: [] });
    await expectCode(preflight(source, unowned.cloud), 'LICENSE_NOT_FOUND');
  });
});

describe('rows', () => {
  test('a federated domain refuses ForceChangePassword True', async () => {
    const address = await onPremMailbox(DOMAINS.federated);
    const { cloud } = await tenantWith({ users: [meu(address)] });
    await expectCode(verifyMeu(source, cloud, { address, forceChangePassword: true }), 'FEDERATED_FORCE_CHANGE', address);
    await expect(verifyMeu(source, cloud, { address, forceChangePassword: false })).resolves.toMatchObject({ federated: true, alreadyMailbox: false });
  });

  test('an unverified domain is refused, in the CSV and at verifyMeu', async () => {
    const address = await onPremMailbox();
    const { cloud } = await tenantWith({ domains: [{ id: DOMAINS.primary, isVerified: false }], users: [meu(address)] });
    await expectCode(verifyMeu(source, cloud, { address, forceChangePassword: false }), 'DOMAIN_NOT_VERIFIED', address);
    const tenant = await cloud.tenant();
    const csv = checkRows([{ line: 2, cells: [address] }], { EmailAddress: 0 }, tenant);
    expect(csv.rejected.map((r) => r.code)).toEqual(['DOMAIN_NOT_VERIFIED']);
  });

  test('no user with the address (by mail or proxyAddresses) is MEU_NOT_FOUND; a proxy address finds it', async () => {
    const address = await onPremMailbox();
    const other = await onPremMailbox();
    const { cloud } = await tenantWith({ users: [meu(`x-${address}`, { mail: `x-${address}`, proxyAddresses: [`SMTP:x-${address}`, `smtp:${other}`] })] });
    await expectCode(verifyMeu(source, cloud, { address, forceChangePassword: false }), 'MEU_NOT_FOUND', address);
    await expect(verifyMeu(source, cloud, { address: other, forceChangePassword: false })).resolves.toMatchObject({ alreadyMailbox: false });
  });

  test('a CSV password for a directory-synced user is refused; a cloud-managed user gets passwordProfile', async () => {
    const synced = await onPremMailbox();
    const cloudOnly = await onPremMailbox();
    const { lab, cloud } = await tenantWith({ users: [meu(synced), meu(cloudOnly, { onPremisesSyncEnabled: null })] });
    const error = await expectCode(verifyMeu(source, cloud, { address: synced, forceChangePassword: false, password: 'Cloud-P4ssword!' }), 'PASSWORD_SYNCED_USER', synced);
    expect(error.message).not.toContain('Cloud-P4ssword!');
    // the connector refuses it too, should a caller skip verifyMeu
    await expectCode(cloud.convertToMailbox(synced, { password: 'Cloud-P4ssword!', forceChangePassword: false }), 'PASSWORD_SYNCED_USER', synced);

    await verifyMeu(source, cloud, { address: cloudOnly, forceChangePassword: true, password: 'Cloud-P4ssword!' });
    await cloud.convertToMailbox(cloudOnly, { password: 'Cloud-P4ssword!', forceChangePassword: true });
    const user = (await labUsers(lab.tenant)).find((u) => u.mail === cloudOnly)!;
    expect(user.lab.passwordSet).toBe(true);
    expect(user.passwordProfile).toEqual({ forceChangePasswordNextSignIn: true });
  });
});

describe('convert', () => {
  test('assigns the licence with usageLocation, then the mailbox appears after the provisioning delay', async () => {
    const address = await onPremMailbox();
    const { lab, cloud } = await tenantWith({ users: [meu(address)], provisioningDelayMs: 60_000 });
    const change = await cloud.convertToMailbox(address, { forceChangePassword: false });
    expect(change).toMatchObject({ changed: true, pending: true });
    const user = (await labUsers(lab.tenant)).find((u) => u.mail === address)!;
    expect(user.usageLocation).toBe('US');
    expect(user.assignedLicenses).toEqual([{ skuId: E3, disabledPlans: [] }]);
    await expect(cloud.mailboxStatus!(address)).resolves.toMatchObject({ state: 'pending' });
    expect((await cloud.findRecipient(address))?.recipientType).toBe('MailUser');
    // a second convert (a retry, a re-run) assigns nothing again
    await expect(cloud.convertToMailbox(address, { forceChangePassword: false })).resolves.toMatchObject({ pending: true, detail: expect.stringContaining('already licensed') });

    // with no delay the mailbox is there at the next look, and a convert after it changes nothing
    const second = await onPremMailbox();
    const fresh = await tenantWith({ users: [meu(second)] });
    await fresh.cloud.convertToMailbox(second, { forceChangePassword: false });
    await expect(fresh.cloud.mailboxStatus!(second)).resolves.toEqual({ state: 'ready' });
    expect((await fresh.cloud.findRecipient(second))?.recipientType).toBe('UserMailbox');
    await expect(fresh.cloud.convertToMailbox(second, { forceChangePassword: false })).resolves.toMatchObject({ changed: false });
  });

  test('a synced msExchMailboxGuid: licensed and provisioned, yet no mailbox, is told apart from a wait', async () => {
    const address = await onPremMailbox();
    const { cloud } = await tenantWith({ users: [meu(address, { exchangeGuidSynced: true })] });
    await cloud.convertToMailbox(address, { forceChangePassword: false });
    const status = await cloud.mailboxStatus!(address);
    expect(status).toMatchObject({ state: 'exchangeGuidSynced', detail: expect.stringContaining('msExchMailboxGuid') });
  });
});

describe('paging', () => {
  test('a tenant with more users than a page is listed in full, following @odata.nextLink', async () => {
    const addresses = Array.from({ length: 7 }, (_, i) => `paged-${i}-${randomUUID().slice(0, 6)}@${DOMAINS.primary}`);
    const { lab, cloud } = await tenantWith({ users: addresses.map((a) => meu(a)) });
    await setPageSize(lab.tenant, 3);
    const listed = await cloud.listRecipients();
    expect(listed.map((r) => r.address).sort()).toEqual([...addresses].sort());
    // three pages of users: the request count shows the links were followed, not one big page
    expect((await tenantStats(lab.tenant)).requests).toBe(3);
  });
});

describe('throttling', () => {
  test('429 with Retry-After is retried after the wait it names (the stand-in records any early retry)', async () => {
    const address = await onPremMailbox();
    const { lab, cloud } = await tenantWith({ users: [meu(address)] });
    await setThrottle(lab.tenant, { failNext: 2, retryAfterSeconds: 1 });
    await expect(cloud.findRecipient(address)).resolves.toMatchObject({ address });
    expect((await tenantStats(lab.tenant)).throttled).toBe(2);
    expect(await violations(lab.tenant)).toEqual([]);
  });

  test('a throttled request that runs out of retries fails retryably, not as a refusal', async () => {
    const address = await onPremMailbox();
    const { lab, cloud } = await tenantWith({ users: [meu(address)] });
    await setThrottle(lab.tenant, { failNext: 50, retryAfterSeconds: 0 });
    const error = await expectCode(cloud.tenant(), 'CONNECTION_FAILED');
    expect(error.permanent).toBe(false);
    await setThrottle(lab.tenant, { failNext: 0 });
  });
});
