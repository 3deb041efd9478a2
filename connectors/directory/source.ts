/**
 * The on-premises directory: finds mailboxes, reads the Exchange version,
 * sets and restores TargetAddress, and turns a migrated mailbox into a
 * mail-enabled user (seed step 5). Active Directory with Exchange's schema by
 * default; a generic LDAP directory through the `ldap` attribute map.
 */
import { Attribute, Change, EqualityFilter, type Entry } from 'ldapts';
import { MailferryError } from '../../shared/errors';
import { guidFromBytes } from './ad';
import { ATTRIBUTE_MAPS, type AttributeMap } from './attributeMap';
import { bytes, pickByAddress, single, values } from './entries';
import { allRecipients, recipientByAddress } from './filters';
import { mergeProxyAddresses, sameProxyAddresses } from './proxyAddresses';
import { createLdapSession, type DirectoryConfig, type LdapSession } from './session';
import type { ChangeResult, SourceDirectory, SourceMailbox } from './types';
import { exchangeServerVersion, newestServer } from './version';

/** Converting a mailbox to a mail user without a TargetAddress would leave its mail nowhere to go. */
export class TargetAddressMissingError extends Error {
  readonly code = 'TARGET_ADDRESS_MISSING';
  constructor(address: string) {
    super(`${address} has no TargetAddress yet: set it (run the row's setTargetAddress step) before converting the mailbox to a mail-enabled user.`);
    this.name = 'TargetAddressMissingError';
  }
}

function guid(entry: Entry, name: string): string | null {
  const value = bytes(entry, name);
  return value && value.length === 16 ? guidFromBytes(value) : null;
}

function toSourceMailbox(map: AttributeMap, entry: Entry): SourceMailbox | null {
  const recipientType = map.recipientType(entry);
  const address = single(entry, 'mail');
  if (recipientType === null || address === null) return null;
  return {
    dn: entry.dn,
    address,
    displayName: single(entry, 'displayName') ?? single(entry, 'cn') ?? address,
    recipientType,
    targetAddress: single(entry, 'targetAddress'),
    proxyAddresses: values(entry, 'proxyAddresses'),
    legacyExchangeDN: single(entry, 'legacyExchangeDN') ?? '',
    umEnabled: map.umEnabled(entry),
    mailboxGuid: guid(entry, 'msExchMailboxGuid'),
    objectGuid: guid(entry, 'objectGUID'),
  };
}

function withSmtpPrefix(target: string): string {
  return `SMTP:${target.replace(/^smtp:/i, '')}`;
}

function replace(type: string, value: string | string[]): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type, values: Array.isArray(value) ? value : [value] }) });
}

/**
 * Exchange's version from the configuration partition: the serialNumber of its
 * server objects (`Version 8.3 (Build 83.6)`). Where the forest holds several
 * servers, those homing a mailbox under the base DN decide.
 */
async function readExchangeVersion(ldap: LdapSession, cfg: DirectoryConfig): Promise<string> {
  const [rootDse] = await ldap.search('', { scope: 'base', attributes: ['configurationNamingContext'] });
  const configDn = rootDse && single(rootDse, 'configurationNamingContext');
  if (!configDn) throw new MailferryError('UNSUPPORTED_SOURCE_VERSION', `The directory at ${cfg.url} has no configuration partition: it is not Active Directory.`);
  const servers = await ldap
    .search(`CN=Microsoft Exchange,CN=Services,${configDn}`, {
      scope: 'sub',
      filter: new EqualityFilter({ attribute: 'objectClass', value: 'msExchExchangeServer' }),
      attributes: ['cn', 'serialNumber', 'legacyExchangeDN'],
    })
    .catch((error: { code?: number }) => {
      if (error.code === 32) return [];
      throw error;
    });
  const found = servers.map((s) => ({ name: single(s, 'cn') ?? s.dn, serialNumber: single(s, 'serialNumber') ?? '', legacyDn: single(s, 'legacyExchangeDN') }));
  if (found.length === 0) {
    throw new MailferryError('UNSUPPORTED_SOURCE_VERSION', `No Exchange server object is registered in ${configDn}: is Exchange installed in this forest?`);
  }
  let inScope = found;
  if (found.length > 1) {
    const homing = await Promise.all(
      found.map((s) => (s.legacyDn ? ldap.any(cfg.suffix, new EqualityFilter({ attribute: 'msExchHomeServerName', value: s.legacyDn })) : false)),
    );
    if (homing.some(Boolean)) inScope = found.filter((_, i) => homing[i]);
  }
  const newest = newestServer(inScope);
  return `${exchangeServerVersion(newest.serialNumber) ?? 'unknown Exchange version'} (${newest.serialNumber || 'no serialNumber'}, server ${newest.name})`;
}

export function createSourceDirectory(cfg: DirectoryConfig): SourceDirectory {
  const map = ATTRIBUTE_MAPS[cfg.attributeMap ?? 'exchange'];
  const ldap = createLdapSession(cfg);
  const recipientsBase = map.recipientsBase(cfg.suffix);
  const read = { attributes: map.attributes, binary: map.binaryAttributes };

  async function findEntry(address: string): Promise<Entry | null> {
    const entries = await ldap.search(recipientsBase, { scope: 'sub', filter: recipientByAddress(map, address, [map.managed]), ...read });
    return pickByAddress(entries, address);
  }

  async function findMailbox(address: string): Promise<SourceMailbox | null> {
    const entry = await findEntry(address);
    return entry && toSourceMailbox(map, entry);
  }

  async function mustFind(address: string): Promise<{ entry: Entry; mailbox: SourceMailbox }> {
    const entry = await findEntry(address);
    const mailbox = entry && toSourceMailbox(map, entry);
    if (!entry || !mailbox) {
      throw new MailferryError('SOURCE_MAILBOX_NOT_FOUND', `No on-premises mailbox has the address ${address}.`);
    }
    return { entry, mailbox };
  }

  async function writeTargetAddress(address: string, value: string | null): Promise<ChangeResult> {
    const { mailbox } = await mustFind(address);
    const previous = mailbox.targetAddress;
    if ((previous ?? '').toLowerCase() === (value ?? '').toLowerCase()) {
      return { changed: false, previous, detail: value ? `TargetAddress of ${address} is already ${value}` : `${address} has no TargetAddress` };
    }
    const change =
      value === null
        ? new Change({ operation: 'delete', modification: new Attribute({ type: 'targetAddress', values: [] }) })
        : replace('targetAddress', value);
    await ldap.modify(mailbox.dn, [change]);
    return {
      changed: true,
      previous,
      detail: value ? `TargetAddress of ${address} set to ${value}` : `TargetAddress of ${address} cleared`,
    };
  }

  return {
    async serverVersion() {
      if (map.name === 'exchange') return readExchangeVersion(ldap, cfg);
      const [organization] = await ldap.search(`cn=organization,${cfg.suffix}`, { scope: 'base', attributes: ['mfServerVersion'] });
      return single(organization, 'mfServerVersion') ?? '';
    },

    findMailbox,

    async listRecipients() {
      const entries = await ldap.search(recipientsBase, { scope: 'sub', filter: allRecipients(map, [map.managed]), ...read });
      return entries.map((e) => toSourceMailbox(map, e)).filter((m): m is SourceMailbox => m !== null);
    },

    setTargetAddress: (address, target) => writeTargetAddress(address, withSmtpPrefix(target)),

    restoreTargetAddress: (address, previous) => writeTargetAddress(address, previous),

    /**
     * What Exchange2007MBtoMEU.ps1 leaves: a mail user (no mailbox attributes)
     * whose targetAddress is the cloud address, with the on-premises and cloud
     * proxy addresses and the old and the cloud legacyExchangeDN as X500
     * addresses, so replies to old mail and to mail sent from the cloud
     * mailbox still resolve on-premises; the mailbox GUID stays.
     */
    async convertToMailUser(address, cloud) {
      const { entry, mailbox } = await mustFind(address);
      if (!mailbox.targetAddress) throw new TargetAddressMissingError(address);
      const x500 = [mailbox.legacyExchangeDN, cloud.legacyExchangeDN].filter((dn): dn is string => !!dn).map((dn) => `X500:${dn}`);
      // the on-premises addresses stay too: dropping an alias would bounce mail sent to it
      const proxies = mergeProxyAddresses(mailbox.address, mailbox.proxyAddresses, cloud.proxyAddresses, x500);
      const typeChanges = mailbox.recipientType !== 'MailUser';
      const proxyChanges = !sameProxyAddresses(proxies, mailbox.proxyAddresses);
      if (!typeChanges && !proxyChanges) {
        return { changed: false, previous: mailbox.recipientType, detail: `${address} is already a mail-enabled user with every proxy address` };
      }
      await ldap.modify(mailbox.dn, [...(typeChanges ? map.toMailUser(entry) : []), replace('proxyAddresses', proxies)]);
      const added = proxies.filter((p) => !mailbox.proxyAddresses.includes(p)).length;
      return {
        changed: true,
        previous: mailbox.recipientType,
        detail: `${address} is now a mail-enabled user forwarding to ${mailbox.targetAddress}` + (proxyChanges ? ` (${added} proxy address(es) added)` : ''),
      };
    },

    close: () => ldap.close(),
  };
}
