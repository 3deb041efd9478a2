/**
 * Which attributes say what about a recipient. One connector reads either
 * Active Directory with Exchange's schema (`exchange`, the default for a
 * source) or a generic LDAP directory with mailferry's own names (`ldap`: the
 * lab's cloud directory, or a source that is not Exchange).
 */
import { Attribute, Change, EqualityFilter, OrFilter, type Entry, type Filter } from 'ldapts';
import { present, recipientType as recipientTypeSchema, single } from './entries';
import type { RecipientType } from './types';

export type AttributeMapName = 'exchange' | 'ldap';

export interface AttributeMap {
  name: AttributeMapName;
  /** the object class every recipient has */
  recipientClass: string;
  /** where recipients are searched, below the configured base DN */
  recipientsBase(baseDn: string): string;
  /** the recipient kinds mailferry manages, as a filter */
  managed: Filter;
  attributes: string[];
  /** returned as Buffers (GUIDs), never decoded as text */
  binaryAttributes: string[];
  recipientType(entry: Entry): RecipientType | null;
  /** the raw value recipientType was read from, for error messages */
  rawType(entry: Entry): string | null;
  umEnabled(entry: Entry): boolean;
  /** the changes that turn a mailbox into a mail user (targetAddress and proxyAddresses are handled by the caller) */
  toMailUser(entry: Entry): Change[];
}

const replace = (type: string, value: string) => new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });
const remove = (type: string) => new Change({ operation: 'delete', modification: new Attribute({ type, values: [] }) });
const equals = (attribute: string, value: string) => new EqualityFilter({ attribute, value });

/**
 * msExchRecipientTypeDetails (Exchange's RecipientTypeDetails flags):
 * 1 UserMailbox, 128 MailUser, 2147483648 RemoteUserMailbox (a mailbox already
 * moved to the cloud: on-premises it is a mail user).
 */
export const RECIPIENT_TYPE_DETAILS = { UserMailbox: '1', MailUser: '128', RemoteUserMailbox: '2147483648' } as const;
/** msExchRecipientDisplayType of a mail user whose mail goes to another system (RemoteMailUser) */
export const REMOTE_MAIL_USER_DISPLAY_TYPE = '6';
/** attributes Exchange's Disable-Mailbox clears: the object has no mailbox any more (msExchMailboxGuid stays, as Exchange2007MBtoMEU.ps1 keeps it) */
const MAILBOX_ONLY = ['homeMDB', 'msExchHomeServerName'];

export const EXCHANGE_MAP: AttributeMap = {
  name: 'exchange',
  recipientClass: 'user',
  recipientsBase: (baseDn) => baseDn,
  managed: new OrFilter({ filters: Object.values(RECIPIENT_TYPE_DETAILS).map((v) => equals('msExchRecipientTypeDetails', v)) }),
  attributes: [
    'mail',
    'displayName',
    'cn',
    'mailNickname',
    'targetAddress',
    'proxyAddresses',
    'legacyExchangeDN',
    'msExchRecipientTypeDetails',
    'msExchRecipientDisplayType',
    'msExchUMRecipientDialPlanLink',
    'msExchMailboxGuid',
    'objectGUID',
    ...MAILBOX_ONLY,
  ],
  binaryAttributes: ['objectGUID', 'msExchMailboxGuid'],
  recipientType(entry) {
    switch (single(entry, 'msExchRecipientTypeDetails')) {
      case RECIPIENT_TYPE_DETAILS.UserMailbox:
        return 'UserMailbox';
      case RECIPIENT_TYPE_DETAILS.MailUser:
      case RECIPIENT_TYPE_DETAILS.RemoteUserMailbox:
        return 'MailUser';
      default:
        return null;
    }
  },
  rawType: (entry) => single(entry, 'msExchRecipientTypeDetails'),
  // Exchange links a UM-enabled mailbox to its dial plan; Disable-UMMailbox removes the link
  umEnabled: (entry) => present(entry, 'msExchUMRecipientDialPlanLink'),
  toMailUser: (entry) => [
    replace('msExchRecipientTypeDetails', RECIPIENT_TYPE_DETAILS.MailUser),
    replace('msExchRecipientDisplayType', REMOTE_MAIL_USER_DISPLAY_TYPE),
    ...MAILBOX_ONLY.filter((name) => present(entry, name)).map(remove),
  ],
};

export const LDAP_MAP: AttributeMap = {
  name: 'ldap',
  recipientClass: 'mfRecipient',
  recipientsBase: (baseDn) => `ou=recipients,${baseDn}`,
  managed: new OrFilter({ filters: recipientTypeSchema.options.map((v) => equals('mfRecipientType', v)) }),
  attributes: ['mail', 'displayName', 'cn', 'mfRecipientType', 'targetAddress', 'proxyAddresses', 'legacyExchangeDN', 'mfUMEnabled', 'mfForceChangePassword'],
  binaryAttributes: [],
  recipientType(entry) {
    const parsed = recipientTypeSchema.safeParse(single(entry, 'mfRecipientType'));
    return parsed.success ? parsed.data : null;
  },
  rawType: (entry) => single(entry, 'mfRecipientType'),
  umEnabled: (entry) => single(entry, 'mfUMEnabled')?.toUpperCase() === 'TRUE',
  toMailUser: () => [replace('mfRecipientType', 'MailUser')],
};

export const ATTRIBUTE_MAPS: Record<AttributeMapName, AttributeMap> = { exchange: EXCHANGE_MAP, ldap: LDAP_MAP };
