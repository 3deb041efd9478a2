/**
 * The directory side of the Graph stand-in: organization, domains,
 * subscribedSkus, users (find by $filter, update, assignLicense) and the
 * mailbox that a licence with Exchange "provisions" after a configurable
 * delay. Behaviours reproduced from Microsoft's documentation:
 * - `GET /users/{id}/mailboxSettings` answers 404 MailboxNotEnabledForRESTAPI
 *   while the user has no mailbox;
 * - `assignLicense` needs `usageLocation` and a SKU the tenant owns; the
 *   Exchange plan shows in `assignedPlans` and, once provisioned, as
 *   `provisionedPlans` service `exchange` with `provisioningStatus` Success;
 * - a synced user whose on-premises msExchMailboxGuid is synced gets no
 *   cloud mailbox from a licence (Exchange treats the mailbox as on-premises):
 *   the plan provisions, the mailbox never appears;
 * - the password of a directory-synced user cannot be set through Graph;
 * - without `$select` a user carries only Graph's default properties;
 * - users come in pages of 100 (`$top` up to 999) with `@odata.nextLink`.
 */
import { randomUUID } from 'node:crypto';
import type { AssignedLicense, Domain, Organization, SubscribedSku, User } from '@microsoft/microsoft-graph-types';
import { z } from 'zod';
import { evaluateFilter, parseFilter } from './filter';
import { DIRECTORY_PAGES, page } from './paging';
import { ControlError, graphError, type GraphModule, type GraphReply, type Tenant } from './server';

/** Graph's default user properties (what a GET returns without $select) */
const DEFAULT_USER_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

interface LabUser {
  user: User;
  /** on-premises msExchMailboxGuid synced to the cloud: a licence gives no cloud mailbox */
  exchangeGuidSynced: boolean;
  /** epoch ms when the mailbox exists; null: none (yet) */
  mailboxAt: number | null;
  /** epoch ms when the Exchange plan reports provisioned */
  exchangePlanAt: number | null;
  password?: string;
}

interface Directory {
  organization: Organization;
  domains: Domain[];
  skus: SubscribedSku[];
  users: LabUser[];
  provisioningDelayMs: number;
}

const planSchema = z.object({
  servicePlanId: z
    .string()
    .uuid()
    .default(() => randomUUID()),
  servicePlanName: z.string(),
});
export const labDirectorySchema = z.object({
  tenant: z.string().optional(),
  displayName: z.string().default('Lab tenant'),
  onPremisesSyncEnabled: z.boolean().nullable().default(true),
  provisioningDelayMs: z.number().int().min(0).default(0),
  domains: z.array(
    z.object({
      id: z.string(),
      isVerified: z.boolean().default(true),
      authenticationType: z.enum(['Managed', 'Federated']).default('Managed'),
      isDefault: z.boolean().default(false),
    }),
  ),
  skus: z.array(z.object({ skuId: z.string().uuid(), skuPartNumber: z.string(), servicePlans: z.array(planSchema) })).default([]),
  users: z
    .array(
      z.object({
        userPrincipalName: z.string(),
        mail: z.string().nullable().default(null),
        displayName: z.string().optional(),
        proxyAddresses: z.array(z.string()).default([]),
        onPremisesSyncEnabled: z.boolean().nullable().default(true),
        exchangeGuidSynced: z.boolean().default(false),
        usageLocation: z.string().nullable().default(null),
        /** already licensed with Exchange and provisioned */
        hasMailbox: z.boolean().default(false),
      }),
    )
    .default([]),
});
export type LabDirectory = z.input<typeof labDirectorySchema>;

const serviceOf = (planName: string) =>
  planName.startsWith('EXCHANGE_') ? 'exchange' : planName.startsWith('SHAREPOINT') ? 'SharePoint' : 'MicrosoftOffice';

function directoryOf(tenant: Tenant): Directory {
  return tenant.store<Directory>('directory', () => {
    throw new ControlError(500, `tenant ${tenant.id} has no directory: create it with POST /_lab/directory/tenants`);
  });
}

function findUser(dir: Directory, key: string): LabUser | undefined {
  const k = key.toLowerCase();
  return dir.users.find((u) => u.user.id === key || u.user.userPrincipalName?.toLowerCase() === k);
}

/** The mailbox and the Exchange plan come true when their time is reached. */
function settle(u: LabUser): void {
  const now = Date.now();
  if (u.exchangePlanAt !== null && u.exchangePlanAt <= now) {
    u.user.provisionedPlans = (u.user.provisionedPlans ?? []).map((p) =>
      p.service === 'exchange' ? { ...p, provisioningStatus: 'Success' } : p,
    );
  }
}

function project(user: User, select: string | null): Record<string, unknown> {
  const names = select ? [...new Set(['id', ...select.split(',').map((s) => s.trim())])] : DEFAULT_USER_PROPERTIES;
  const out: Record<string, unknown> = {};
  for (const name of names) out[name] = (user as Record<string, unknown>)[name] ?? null;
  return out;
}

const notFound = (id: string): GraphReply =>
  graphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

export const directoryModule: GraphModule = (routes, standIn) => {
  const dirOf = (tenant: Tenant) => directoryOf(tenant);

  routes.control('POST', '/directory/tenants', (body) => {
    const spec = labDirectorySchema.parse(body);
    const tenant = standIn.createTenant(spec.tenant);
    const now = Date.now();
    tenant.store<Directory>('directory', () => ({
      provisioningDelayMs: spec.provisioningDelayMs,
      organization: {
        id: tenant.id,
        displayName: spec.displayName,
        onPremisesSyncEnabled: spec.onPremisesSyncEnabled,
        verifiedDomains: spec.domains
          .filter((d) => d.isVerified)
          .map((d) => ({ name: d.id, isDefault: d.isDefault, isInitial: false, type: d.authenticationType, capabilities: 'Email' })),
      },
      domains: spec.domains.map((d) => ({
        id: d.id,
        isVerified: d.isVerified,
        authenticationType: d.authenticationType,
        isDefault: d.isDefault,
        isRoot: true,
        supportedServices: ['Email'],
      })),
      skus: spec.skus.map((s) => ({
        id: `${tenant.id}_${s.skuId}`,
        skuId: s.skuId,
        skuPartNumber: s.skuPartNumber,
        appliesTo: 'User',
        capabilityStatus: 'Enabled',
        consumedUnits: 0,
        prepaidUnits: { enabled: 1000, suspended: 0, warning: 0, lockedOut: 0 },
        servicePlans: s.servicePlans.map((p) => ({ ...p, provisioningStatus: 'Success', appliesTo: 'User' })),
      })),
      users: spec.users.map((u) => {
        const exchangeSku = spec.skus.find((s) => s.servicePlans.some((p) => serviceOf(p.servicePlanName) === 'exchange'));
        const licensed = u.hasMailbox && exchangeSku;
        return {
          exchangeGuidSynced: u.exchangeGuidSynced,
          mailboxAt: u.hasMailbox ? now : null,
          exchangePlanAt: u.hasMailbox ? now : null,
          user: {
            id: randomUUID(),
            userPrincipalName: u.userPrincipalName,
            mail: u.mail,
            displayName: u.displayName ?? u.userPrincipalName,
            proxyAddresses: u.proxyAddresses,
            onPremisesSyncEnabled: u.onPremisesSyncEnabled,
            usageLocation: u.usageLocation,
            accountEnabled: true,
            businessPhones: [],
            assignedLicenses: licensed ? [{ skuId: exchangeSku.skuId, disabledPlans: [] }] : [],
            assignedPlans: licensed
              ? exchangeSku.servicePlans.map((p) => ({
                  assignedDateTime: new Date(now).toISOString(),
                  capabilityStatus: 'Enabled',
                  service: serviceOf(p.servicePlanName),
                  servicePlanId: p.servicePlanId,
                }))
              : [],
            provisionedPlans: licensed ? [{ service: 'exchange', capabilityStatus: 'Enabled', provisioningStatus: 'Success' }] : [],
          },
        };
      }),
    }));
    return { tenant: tenant.id };
  });

  routes.control('GET', '/directory/tenants/{id}/users', (_body, { id }) => {
    const tenant = standIn.tenant(id);
    if (!tenant) throw new ControlError(404, `no tenant ${id}`);
    const dir = dirOf(tenant);
    dir.users.forEach(settle);
    return dir.users.map((u) => ({
      ...u.user,
      lab: { exchangeGuidSynced: u.exchangeGuidSynced, mailboxAt: u.mailboxAt, passwordSet: u.password !== undefined },
    }));
  });

  routes.control('PATCH', '/directory/tenants/{id}', (body, { id }) => {
    const tenant = standIn.tenant(id);
    if (!tenant) throw new ControlError(404, `no tenant ${id}`);
    const change = z
      .object({ provisioningDelayMs: z.number().int().min(0).optional(), onPremisesSyncEnabled: z.boolean().nullable().optional() })
      .parse(body);
    const dir = dirOf(tenant);
    if (change.provisioningDelayMs !== undefined) dir.provisioningDelayMs = change.provisioningDelayMs;
    if (change.onPremisesSyncEnabled !== undefined) dir.organization.onPremisesSyncEnabled = change.onPremisesSyncEnabled;
    return { ok: true };
  });

  routes.add('GET', '/organization', ({ tenant }) => ({ status: 200, body: { value: [dirOf(tenant).organization] } }));

  routes.add('GET', '/domains', ({ tenant }) => ({ status: 200, body: { value: dirOf(tenant).domains } }));

  routes.add('GET', '/subscribedSkus', ({ tenant }) => ({ status: 200, body: { value: dirOf(tenant).skus } }));

  routes.add('GET', '/users', (request) => {
    const { tenant, query } = request;
    const dir = dirOf(tenant);
    const filter = query.get('$filter');
    const expr = filter ? parseFilter(filter) : null;
    dir.users.forEach(settle);
    const found = dir.users.filter((u) => !expr || evaluateFilter(expr, u.user as Record<string, unknown>));
    return page(request, found, DIRECTORY_PAGES, (u) => project(u.user, query.get('$select')));
  });

  routes.add('GET', '/users/{id}', ({ tenant, query }, { id }) => {
    const u = findUser(dirOf(tenant), id);
    if (!u) return notFound(id);
    settle(u);
    return { status: 200, body: project(u.user, query.get('$select')) };
  });

  routes.add('PATCH', '/users/{id}', ({ tenant, body }, { id }) => {
    const u = findUser(dirOf(tenant), id);
    if (!u) return notFound(id);
    const patch = body as User;
    if (patch.passwordProfile && u.user.onPremisesSyncEnabled) {
      return graphError(
        400,
        'Request_BadRequest',
        'Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.',
      );
    }
    const { passwordProfile, ...rest } = patch;
    if (passwordProfile?.password) u.password = passwordProfile.password;
    Object.assign(
      u.user,
      rest,
      passwordProfile ? { passwordProfile: { forceChangePasswordNextSignIn: passwordProfile.forceChangePasswordNextSignIn ?? false } } : {},
    );
    return { status: 204 };
  });

  routes.add('GET', '/users/{id}/mailboxSettings', ({ tenant }, { id }) => {
    const u = findUser(dirOf(tenant), id);
    if (!u) return notFound(id);
    if (u.mailboxAt === null || u.mailboxAt > Date.now()) {
      return graphError(404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.');
    }
    return {
      status: 200,
      body: {
        timeZone: 'UTC',
        language: { locale: 'en-US', displayName: 'English (United States)' },
        dateFormat: 'M/d/yyyy',
        timeFormat: 'h:mm tt',
      },
    };
  });

  routes.add('POST', '/users/{id}/assignLicense', ({ tenant, body }, { id }) => {
    const dir = dirOf(tenant);
    const u = findUser(dir, id);
    if (!u) return notFound(id);
    const { addLicenses, removeLicenses } = body as { addLicenses: AssignedLicense[]; removeLicenses: string[] };
    if (addLicenses.length > 0 && !u.user.usageLocation) {
      return graphError(400, 'Request_BadRequest', 'License assignment cannot be done for user with invalid usage location.');
    }
    const now = Date.now();
    for (const license of addLicenses) {
      const sku = dir.skus.find((s) => s.skuId === license.skuId);
      if (!sku) return graphError(400, 'Request_BadRequest', `License ${license.skuId} does not correspond to a valid company License.`);
      const plans = sku.servicePlans ?? [];
      const unknownPlan = (license.disabledPlans ?? []).find((p) => !plans.some((sp) => sp.servicePlanId === p));
      if (unknownPlan)
        return graphError(400, 'Request_BadRequest', `Service plan ${unknownPlan} is not a plan of the license ${license.skuId}.`);
      const enabled = plans.filter((p) => !(license.disabledPlans ?? []).includes(p.servicePlanId ?? ''));
      u.user.assignedLicenses = [...(u.user.assignedLicenses ?? []).filter((l) => l.skuId !== license.skuId), license];
      u.user.assignedPlans = [
        ...(u.user.assignedPlans ?? []),
        ...enabled.map((p) => ({
          assignedDateTime: new Date(now).toISOString(),
          capabilityStatus: 'Enabled',
          service: serviceOf(p.servicePlanName ?? ''),
          servicePlanId: p.servicePlanId,
        })),
      ];
      if (enabled.some((p) => serviceOf(p.servicePlanName ?? '') === 'exchange') && u.exchangePlanAt === null) {
        u.exchangePlanAt = now + dir.provisioningDelayMs;
        u.user.provisionedPlans = [
          ...(u.user.provisionedPlans ?? []),
          { service: 'exchange', capabilityStatus: 'Enabled', provisioningStatus: 'PendingInput' },
        ];
        if (!u.exchangeGuidSynced) u.mailboxAt = now + dir.provisioningDelayMs;
      }
    }
    u.user.assignedLicenses = (u.user.assignedLicenses ?? []).filter((l) => !removeLicenses.includes(l.skuId ?? ''));
    return { status: 200, body: project(u.user, null) };
  });
};
