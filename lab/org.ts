/**
 * The organisation-wide entries of both directories (the cloud suffix, its
 * recipients and tenant; on-premises the lab's OU, administrator and Exchange
 * organisation on the AD DC) and the two switches tests flip to exercise
 * preflight: directory sync and source version.
 */
import type { Client } from 'ldapts';
import { ensureAdBase, setServerVersion } from './ad/directory';
import { DOMAINS, SUFFIX } from './config';
import type { LabInfo } from './info';
import { entryExists, replace, withLdap } from './ldapClient';
import { withAdministrator } from './servers/samba';

export const TENANT_DN = `cn=tenant,${SUFFIX.cloud}`;
export const DEFAULT_SERVER_VERSION = 'Exchange 2007';

export const ACCEPTED_DOMAINS = [DOMAINS.primary, DOMAINS.federated, DOMAINS.routing];
export const FEDERATED_DOMAINS = [DOMAINS.federated];

const suffixEntry = { objectClass: ['top', 'dcObject', 'organization'], dc: 'cloud', o: 'Tailspin Toys (cloud tenant)' };

const recipientsEntry = { objectClass: ['top', 'organizationalUnit'], ou: 'recipients' };

const tenantEntry = {
  objectClass: ['top', 'mfTenant'],
  cn: 'tenant',
  mfDirSyncEnabled: 'TRUE',
  mfAcceptedDomain: ACCEPTED_DOMAINS,
  mfFederatedDomain: FEDERATED_DOMAINS,
};

async function addIfMissing(client: Client, dn: string, entry: Record<string, string | string[]>): Promise<void> {
  if (!(await entryExists(client, dn))) await client.add(dn, entry);
}

/** Creates what is missing; never changes what a test or a seed has set. */
export async function ensureBaseEntries(info: LabInfo): Promise<void> {
  await withLdap(info, 'cloud', async (client) => {
    await addIfMissing(client, SUFFIX.cloud, suffixEntry);
    await addIfMissing(client, `ou=recipients,${SUFFIX.cloud}`, recipientsEntry);
    await addIfMissing(client, TENANT_DN, tenantEntry);
  });
  await withAdministrator((client) => ensureAdBase(client, info.onprem.ldap.password, DEFAULT_SERVER_VERSION));
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

/** e.g. `Exchange 2010` to make preflight refuse the source: the serialNumber of the lab's Exchange server object */
export async function setSourceServerVersion(info: LabInfo, version: string): Promise<void> {
  await setServerVersion(info, version);
}
