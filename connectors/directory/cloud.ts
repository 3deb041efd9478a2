/**
 * The cloud directory: the tenant's flags and the MEUs directory sync created,
 * which a migration converts to mailboxes.
 */
import { randomUUID } from 'node:crypto';
import { Attribute, Change, type Entry } from 'ldapts';
import { MailferryError } from '../../shared/errors';
import { LDAP_MAP } from './attributeMap';
import { allRecipients, recipientByAddress } from './filters';
import { flag, pickByAddress, single, values } from './entries';
import { sshaHash } from './password';
import { createLdapSession, type DirectoryConfig } from './session';
import type { CloudDirectory, CloudRecipient } from './types';

export interface CloudDirectoryConfig extends DirectoryConfig {
  /** domain of the cloud routing addresses TargetAddress points to, e.g. `tailspintoys.mail.cloud.test` */
  routingDomain: string;
}

function toCloudRecipient(entry: Entry): CloudRecipient {
  const address = single(entry, 'mail') ?? '';
  const recipientType = LDAP_MAP.recipientType(entry);
  if (recipientType === null) {
    throw new MailferryError(
      'NOT_A_MAIL_USER',
      `The cloud object ${entry.dn} for ${address} has recipient type "${LDAP_MAP.rawType(entry) ?? '(none)'}", not a mail-enabled user or mailbox.`,
    );
  }
  return {
    dn: entry.dn,
    address,
    recipientType,
    proxyAddresses: values(entry, 'proxyAddresses'),
    targetAddress: single(entry, 'targetAddress'),
    legacyExchangeDN: single(entry, 'legacyExchangeDN'),
    forceChangePassword: flag(entry, 'mfForceChangePassword'),
  };
}

function replace(type: string, value: string): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });
}

/**
 * The legacyExchangeDN Exchange Online gives a recipient: a random hex GUID
 * before the alias keeps it unique where two recipients share an alias.
 */
function exchangeOnlineLegacyDn(address: string): string {
  return `/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=${randomUUID().replace(/-/g, '')}-${alias(address)}`;
}

function alias(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : address.slice(0, at);
}

export function createCloudDirectory(cfg: CloudDirectoryConfig): CloudDirectory {
  const ldap = createLdapSession(cfg);
  const recipientsBase = LDAP_MAP.recipientsBase(cfg.suffix);

  async function findRecipient(address: string): Promise<CloudRecipient | null> {
    const entries = await ldap.search(recipientsBase, { scope: 'sub', filter: recipientByAddress(LDAP_MAP, address), attributes: LDAP_MAP.attributes });
    const entry = pickByAddress(entries, address);
    return entry && toCloudRecipient(entry);
  }

  return {
    async tenant() {
      // a base search returns the entry or fails with noSuchObject
      const [tenant] = await ldap.search(`cn=tenant,${cfg.suffix}`, {
        scope: 'base',
        attributes: ['mfDirSyncEnabled', 'mfAcceptedDomain', 'mfFederatedDomain'],
      });
      return {
        dirSyncEnabled: flag(tenant, 'mfDirSyncEnabled'),
        acceptedDomains: values(tenant, 'mfAcceptedDomain'),
        federatedDomains: values(tenant, 'mfFederatedDomain'),
      };
    },

    findRecipient,

    async listRecipients() {
      const entries = await ldap.search(recipientsBase, {
        scope: 'sub',
        filter: allRecipients(LDAP_MAP, [LDAP_MAP.managed]),
        attributes: LDAP_MAP.attributes,
      });
      return entries.map(toCloudRecipient);
    },

    async convertToMailbox(address, { password, forceChangePassword }) {
      const recipient = await findRecipient(address);
      if (!recipient) {
        throw new MailferryError('MEU_NOT_FOUND', `The cloud organisation has no mail-enabled user for ${address}.`);
      }
      // a mailbox has a legacyExchangeDN from its start; a kept one is what old mail's X500 replies resolve to
      const legacyDn = recipient.legacyExchangeDN ? [] : [replace('legacyExchangeDN', exchangeOnlineLegacyDn(address))];
      if (recipient.recipientType === 'UserMailbox') {
        // a re-run must not reset a password the user may already have changed
        if (legacyDn.length > 0) await ldap.modify(recipient.dn, legacyDn);
        return {
          changed: legacyDn.length > 0,
          previous: 'UserMailbox',
          detail: `${address} is already a cloud mailbox; its password was left as it is` + (legacyDn.length > 0 ? '; it was given a legacyExchangeDN' : ''),
        };
      }
      const changes = [replace('mfRecipientType', 'UserMailbox'), replace('mfForceChangePassword', forceChangePassword ? 'TRUE' : 'FALSE'), ...legacyDn];
      if (password !== undefined) changes.push(replace('userPassword', sshaHash(password)));
      await ldap.modify(recipient.dn, changes);
      return {
        changed: true,
        previous: recipient.recipientType,
        detail:
          `${address} converted from a mail-enabled user to a cloud mailbox` +
          (password === undefined ? ' without a password (none in the CSV): set one before the user signs in' : '') +
          (forceChangePassword ? '; the user must change the password at first sign-in' : ''),
      };
    },

    routingAddress: (address) => `${alias(address)}@${cfg.routingDomain}`,

    close: () => ldap.close(),
  };
}
