/**
 * The on-premises directory: finds mailboxes, sets and restores TargetAddress,
 * and turns a migrated mailbox into a mail-enabled user (seed step 5).
 */
import { Attribute, Change, type Entry } from 'ldapts';
import { MailferryError } from '../../shared/errors';
import { recipientByAddress, allRecipients, recipientTypeIn } from './filters';
import { RECIPIENT_ATTRIBUTES, RECIPIENT_TYPES, flag, pickByAddress, single, typeOf, values } from './entries';
import { mergeProxyAddresses, sameProxyAddresses } from './proxyAddresses';
import { createLdapSession, type DirectoryConfig } from './session';
import type { ChangeResult, SourceDirectory, SourceMailbox } from './types';

/** Converting a mailbox to a mail user without a TargetAddress would leave its mail nowhere to go. */
export class TargetAddressMissingError extends Error {
  readonly code = 'TARGET_ADDRESS_MISSING';
  constructor(address: string) {
    super(`${address} has no TargetAddress yet: set it (run the row's setTargetAddress step) before converting the mailbox to a mail-enabled user.`);
    this.name = 'TargetAddressMissingError';
  }
}

function toSourceMailbox(entry: Entry): SourceMailbox | null {
  const recipientType = typeOf(entry);
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
    umEnabled: flag(entry, 'mfUMEnabled'),
  };
}

function withSmtpPrefix(target: string): string {
  return `SMTP:${target.replace(/^smtp:/i, '')}`;
}

function replace(type: string, value: string | string[]): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type, values: Array.isArray(value) ? value : [value] }) });
}

export function createSourceDirectory(cfg: DirectoryConfig): SourceDirectory {
  const ldap = createLdapSession(cfg);
  const recipientsBase = `ou=recipients,${cfg.suffix}`;
  const managed = recipientTypeIn(RECIPIENT_TYPES);

  async function findMailbox(address: string): Promise<SourceMailbox | null> {
    const entries = await ldap.search(recipientsBase, {
      scope: 'sub',
      filter: recipientByAddress(address, [managed]),
      attributes: RECIPIENT_ATTRIBUTES,
    });
    const entry = pickByAddress(entries, address);
    return entry && toSourceMailbox(entry);
  }

  async function mustFind(address: string): Promise<SourceMailbox> {
    const mailbox = await findMailbox(address);
    if (!mailbox) {
      throw new MailferryError('SOURCE_MAILBOX_NOT_FOUND', `No on-premises mailbox has the address ${address}.`);
    }
    return mailbox;
  }

  async function writeTargetAddress(address: string, value: string | null): Promise<ChangeResult> {
    const mailbox = await mustFind(address);
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
      const [organization] = await ldap.search(`cn=organization,${cfg.suffix}`, { scope: 'base', attributes: ['mfServerVersion'] });
      return single(organization, 'mfServerVersion') ?? '';
    },

    findMailbox,

    async listRecipients() {
      const entries = await ldap.search(recipientsBase, { scope: 'sub', filter: allRecipients([managed]), attributes: RECIPIENT_ATTRIBUTES });
      return entries.map(toSourceMailbox).filter((m): m is SourceMailbox => m !== null);
    },

    setTargetAddress: (address, target) => writeTargetAddress(address, withSmtpPrefix(target)),

    restoreTargetAddress: (address, previous) => writeTargetAddress(address, previous),

    async convertToMailUser(address, cloudProxyAddresses) {
      const mailbox = await mustFind(address);
      if (!mailbox.targetAddress) throw new TargetAddressMissingError(address);
      const x500 = mailbox.legacyExchangeDN ? [`X500:${mailbox.legacyExchangeDN}`] : [];
      // the on-premises addresses stay too: dropping an alias would bounce mail sent to it
      const proxies = mergeProxyAddresses(mailbox.address, mailbox.proxyAddresses, cloudProxyAddresses, x500);
      const typeChanges = mailbox.recipientType !== 'MailUser';
      const proxyChanges = !sameProxyAddresses(proxies, mailbox.proxyAddresses);
      if (!typeChanges && !proxyChanges) {
        return { changed: false, previous: mailbox.recipientType, detail: `${address} is already a mail-enabled user with every proxy address` };
      }
      await ldap.modify(mailbox.dn, [replace('mfRecipientType', 'MailUser'), replace('proxyAddresses', proxies)]);
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
