/**
 * The organisation-wide entries of both directories (suffixes, recipient
 * containers, the cloud tenant, the on-prem Exchange organisation) and the two
 * switches tests flip to exercise preflight: directory sync and source version.
 */
import type { Client } from 'ldapts';
import { DOMAINS, SIDES, SUFFIX, Side } from './config';
import type { LabInfo } from './info';
import { entryExists, replace, withLdap } from './ldapClient';

export const TENANT_DN = `cn=tenant,${SUFFIX.cloud}`;
export const ORGANIZATION_DN = `cn=organization,${SUFFIX.onprem}`;
export const DEFAULT_SERVER_VERSION = 'Exchange 2007';

export const ACCEPTED_DOMAINS = [DOMAINS.primary, DOMAINS.federated, DOMAINS.routing];
export const FEDERATED_DOMAINS = [DOMAINS.federated];

const suffixEntry = (side: Side) => ({
  objectClass: ['top', 'dcObject', 'organization'],
  dc: side,
  o: side === 'onprem' ? 'Tailspin Toys (on-premises)' : 'Tailspin Toys (cloud tenant)',
});

const recipientsEntry = { objectClass: ['top', 'organizationalUnit'], ou: 'recipients' };

const tenantEntry = {
  objectClass: ['top', 'mfTenant'],
  cn: 'tenant',
  mfDirSyncEnabled: 'TRUE',
  mfAcceptedDomain: ACCEPTED_DOMAINS,
  mfFederatedDomain: FEDERATED_DOMAINS,
};

const organizationEntry = { objectClass: ['top', 'mfExchangeOrganization'], cn: 'organization', mfServerVersion: DEFAULT_SERVER_VERSION };

async function addIfMissing(client: Client, dn: string, entry: Record<string, string | string[]>): Promise<void> {
  if (!(await entryExists(client, dn))) await client.add(dn, entry);
}

/** Creates what is missing; never changes what a test or a seed has set. */
export async function ensureBaseEntries(info: LabInfo): Promise<void> {
  for (const side of SIDES) {
    await withLdap(info, side, async (client) => {
      await addIfMissing(client, SUFFIX[side], suffixEntry(side));
      await addIfMissing(client, `ou=recipients,${SUFFIX[side]}`, recipientsEntry);
      if (side === 'cloud') await addIfMissing(client, TENANT_DN, tenantEntry);
      else await addIfMissing(client, ORGANIZATION_DN, organizationEntry);
    });
  }
}

/** Back to the seeded defaults: dir sync on, the base domains, Exchange 2007. */
export async function resetOrgFlags(info: LabInfo): Promise<void> {
  await withLdap(info, 'cloud', (client) =>
    client.modify(TENANT_DN, [
      replace('mfDirSyncEnabled', 'TRUE'),
      replace('mfAcceptedDomain', ACCEPTED_DOMAINS),
      replace('mfFederatedDomain', FEDERATED_DOMAINS),
    ]),
  );
  await setSourceServerVersion(info, DEFAULT_SERVER_VERSION);
}

export async function setTenantDirSync(info: LabInfo, enabled: boolean): Promise<void> {
  await withLdap(info, 'cloud', (client) => client.modify(TENANT_DN, replace('mfDirSyncEnabled', enabled ? 'TRUE' : 'FALSE')));
}

/** e.g. `Exchange 2010` to make preflight refuse the source */
export async function setSourceServerVersion(info: LabInfo, version: string): Promise<void> {
  await withLdap(info, 'onprem', (client) => client.modify(ORGANIZATION_DN, replace('mfServerVersion', version)));
}
