/**
 * The cloud directory of a Microsoft 365 tenant, through Microsoft Graph:
 * the tenant's flags (`GET /organization` onPremisesSyncEnabled, `GET
 * /domains` isVerified and authenticationType), the MEUs directory
 * synchronisation created (found by `mail` or a `proxyAddresses` entry), and
 * their conversion to mailboxes, which in today's Exchange Online is a
 * licence with an Exchange plan (`assignLicense`, `usageLocation` first)
 * followed by a wait: Exchange Online creates the mailbox minutes (up to
 * 24 hours) later, and until then `GET /users/{id}/mailboxSettings` answers
 * 404 MailboxNotEnabledForRESTAPI.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import type { Domain, Organization, SubscribedSku, User } from '@microsoft/microsoft-graph-types';
import { MailferryError } from '../../shared/errors';
import type { CloudDirectory, CloudRecipient, MailboxStatus } from '../directory/types';
import { allPages, graphErrorOf, graphRefusal, type GraphPage } from './graph';

export interface GraphDirectoryConfig {
  graph: Client;
  /** the tenant's routing domain TargetAddress points to, e.g. `contoso.mail.onmicrosoft.com` */
  routingDomain: string;
  license: { skuId: string; disabledPlans: string[] };
  /** given to a user without a usageLocation; without it such a user cannot be licensed */
  usageLocation?: string;
  /** a licence provisioned this long without a mailbox is the synced-msExchMailboxGuid case */
  exchangeGuidGraceMinutes: number;
}

/** What mailferry reads of a user: Graph returns only its default properties without $select. */
const USER_FIELDS = ['id', 'userPrincipalName', 'mail', 'proxyAddresses', 'onPremisesSyncEnabled', 'usageLocation', 'assignedLicenses', 'assignedPlans', 'provisionedPlans'];

/**
 * Service plans that give a user an Exchange Online mailbox. EXCHANGE_S_FOUNDATION
 * (in Teams, Power BI and other SKUs) gives Exchange features but no mailbox.
 */
export function isMailboxPlan(servicePlanName: string): boolean {
  return /^EXCHANGE_S_/.test(servicePlanName) && servicePlanName !== 'EXCHANGE_S_FOUNDATION';
}

const quoted = (value: string) => `'${value.replace(/'/g, "''")}'`;
const alias = (address: string) => address.slice(0, address.lastIndexOf('@'));

function exchangePlan(user: User): { provisioned: boolean } | null {
  const plan = (user.provisionedPlans ?? []).find((p) => p.service === 'exchange');
  return plan ? { provisioned: plan.provisioningStatus === 'Success' } : null;
}

/** when the licence's Exchange plan was assigned (the earliest, if several) */
function exchangeAssignedAt(user: User): string | null {
  const times = (user.assignedPlans ?? [])
    .filter((p) => p.service === 'exchange' && p.capabilityStatus === 'Enabled' && p.assignedDateTime)
    .map((p) => p.assignedDateTime as string)
    .sort();
  return times[0] ?? null;
}

export function createGraphDirectory(cfg: GraphDirectoryConfig): CloudDirectory {
  const { graph } = cfg;

  async function call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw graphRefusal(err, what);
    }
  }

  async function findUser(address: string): Promise<User | null> {
    const smtp = `smtp:${address}`;
    const filter = `mail eq ${quoted(address)} or proxyAddresses/any(p:p eq ${quoted(smtp)})`;
    const found = await call(`the search for ${address}`, async () => allPages<User>(graph, await graph.api('/users').filter(filter).select(USER_FIELDS).get()));
    const lower = address.toLowerCase();
    return found.find((u) => u.mail?.toLowerCase() === lower) ?? found[0] ?? null;
  }

  /** 200: a mailbox; 404 MailboxNotEnabledForRESTAPI: none (yet) */
  async function hasMailbox(user: User): Promise<boolean> {
    try {
      await graph.api(`/users/${user.id}/mailboxSettings`).get();
      return true;
    } catch (err) {
      if (graphErrorOf(err)?.code === 'MailboxNotEnabledForRESTAPI') return false;
      throw graphRefusal(err, `the mailbox settings of ${user.userPrincipalName}`);
    }
  }

  function toRecipient(user: User, address: string, mailbox: boolean): CloudRecipient {
    return {
      dn: user.id ?? '',
      address: user.mail ?? address,
      recipientType: mailbox ? 'UserMailbox' : 'MailUser',
      proxyAddresses: user.proxyAddresses ?? [],
      // Graph v1.0 shows neither an MEU's external address nor a legacyExchangeDN
      targetAddress: null,
      legacyExchangeDN: null,
      forceChangePassword: false,
      directorySynced: user.onPremisesSyncEnabled === true,
    };
  }

  /** The licence of the settings, checked against what the tenant owns. */
  async function checkedLicense(): Promise<SubscribedSku> {
    const skus = await call('the list of subscribed SKUs', async () => allPages<SubscribedSku>(graph, await graph.api('/subscribedSkus').get()));
    const sku = skus.find((s) => s.skuId === cfg.license.skuId);
    if (!sku) {
      throw new MailferryError('LICENSE_NOT_FOUND', `The tenant has no subscription for the licence SKU ${cfg.license.skuId} (it owns ${skus.map((s) => s.skuPartNumber).join(', ') || 'none'}).`);
    }
    const plans = sku.servicePlans ?? [];
    const unknown = cfg.license.disabledPlans.filter((id) => !plans.some((p) => p.servicePlanId === id));
    if (unknown.length > 0) {
      throw new MailferryError('LICENSE_WITHOUT_EXCHANGE', `The disabled plans ${unknown.join(', ')} are not plans of ${sku.skuPartNumber}.`);
    }
    const mailboxPlans = plans.filter((p) => isMailboxPlan(p.servicePlanName ?? '') && !cfg.license.disabledPlans.includes(p.servicePlanId ?? ''));
    if (mailboxPlans.length === 0) {
      throw new MailferryError(
        'LICENSE_WITHOUT_EXCHANGE',
        `The licence ${sku.skuPartNumber} (${sku.skuId})${cfg.license.disabledPlans.length > 0 ? ' with the disabled plans of the settings' : ''} includes no Exchange Online mailbox plan, so assigning it would create no mailbox.`,
      );
    }
    return sku;
  }

  return {
    async tenant() {
      const [organization, domains] = await Promise.all([
        call('the organisation', () => graph.api('/organization').select(['id', 'onPremisesSyncEnabled']).get() as Promise<{ value: Organization[] }>),
        call('the list of domains', async () => allPages<Domain>(graph, await graph.api('/domains').select(['id', 'isVerified', 'authenticationType']).get())),
      ]);
      const verified = domains.filter((d) => d.isVerified);
      return {
        dirSyncEnabled: organization.value[0]?.onPremisesSyncEnabled === true,
        acceptedDomains: verified.map((d) => d.id ?? ''),
        federatedDomains: verified.filter((d) => d.authenticationType === 'Federated').map((d) => d.id ?? ''),
        unverifiedDomains: domains.filter((d) => !d.isVerified).map((d) => d.id ?? ''),
      };
    },

    async preflight() {
      await checkedLicense();
    },

    async findRecipient(address) {
      const user = await findUser(address);
      return user && toRecipient(user, address, await hasMailbox(user));
    },

    async listRecipients() {
      const users = await call('the list of users', async () => allPages<User>(graph, (await graph.api('/users').select(USER_FIELDS).top(999).get()) as GraphPage<User>));
      // one mailboxSettings call per user would not scale to a tenant: a provisioned Exchange plan stands for the mailbox here
      return users.flatMap((user) => (user.mail ? [toRecipient(user, user.mail, exchangePlan(user)?.provisioned === true)] : []));
    },

    async convertToMailbox(address, { password, forceChangePassword }) {
      const user = await findUser(address);
      if (!user?.id) throw new MailferryError('MEU_NOT_FOUND', `The Microsoft 365 tenant has no user with the address ${address}.`);
      const id = user.id;
      if (await hasMailbox(user)) {
        return { changed: false, previous: 'UserMailbox', detail: `${address} is already a cloud mailbox; its password was left as it is` };
      }
      const synced = user.onPremisesSyncEnabled === true;
      if (password !== undefined && synced) {
        throw new MailferryError('PASSWORD_SYNCED_USER', `${address} is synchronised from the on-premises directory: its password must be set on premises.`);
      }
      const patch: Partial<User> = {};
      if (!user.usageLocation) {
        if (!cfg.usageLocation) throw new MailferryError('USAGE_LOCATION_MISSING', `${address} has no usage location, and the settings give no default.`);
        patch.usageLocation = cfg.usageLocation;
      }
      if (password !== undefined) patch.passwordProfile = { password, forceChangePasswordNextSignIn: forceChangePassword };
      if (Object.keys(patch).length > 0) await call(`the update of ${address}`, () => graph.api(`/users/${id}`).patch(patch));

      const licensed = (user.assignedLicenses ?? []).some((l) => l.skuId === cfg.license.skuId);
      if (!licensed) {
        const sku = await checkedLicense();
        await call(`the licence ${sku.skuPartNumber} for ${address}`, () =>
          graph.api(`/users/${id}/assignLicense`).post({ addLicenses: [{ skuId: cfg.license.skuId, disabledPlans: cfg.license.disabledPlans }], removeLicenses: [] }),
        );
      }
      return {
        changed: true,
        previous: 'MailUser',
        pending: true,
        detail:
          `${address}: ${licensed ? 'already licensed' : `licence ${cfg.license.skuId} assigned`}; Exchange Online creates the mailbox next` +
          (password === undefined ? (synced ? '' : ' (no password in the CSV: set one before the user signs in)') : forceChangePassword ? '; the user must change the password at first sign-in' : ''),
      };
    },

    async mailboxStatus(address): Promise<MailboxStatus> {
      const user = await findUser(address);
      if (!user) throw new MailferryError('MEU_NOT_FOUND', `The Microsoft 365 tenant has no user with the address ${address}.`);
      if (await hasMailbox(user)) return { state: 'ready' };
      const since = exchangeAssignedAt(user);
      const graceOver = since !== null && Date.parse(since) + cfg.exchangeGuidGraceMinutes * 60_000 <= Date.now();
      if (exchangePlan(user)?.provisioned && graceOver && user.onPremisesSyncEnabled === true) {
        return {
          state: 'exchangeGuidSynced',
          detail: `${address}: the licence's Exchange plan is provisioned (since ${since}) yet Exchange Online has no mailbox for this synchronised user: its on-premises msExchMailboxGuid is synced.`,
        };
      }
      return { state: 'pending', since };
    },

    routingAddress: (address) => `${alias(address)}@${cfg.routingDomain}`,

    close: async () => undefined,
  };
}
