/**
 * The part of Exchange's Active Directory schema extension mailferry reads and
 * writes, added to the lab's Samba DC over LDAPS as Exchange's /PrepareSchema
 * would. Only identifiers are taken from published schema data (attributeID,
 * syntax, schemaIDGUID, governsID); the LDIF is generated here.
 *
 * Sources of the identifiers:
 * - "openchange": openchange/openchange setup/AD/oc_provision_schema_attributes.ldif,
 *   oc_provision_schema_objectCategory.ldif, oc_provision_schema_auxiliary_class.ldif,
 *   oc_provision_schema_modify.ldif (Exchange 2007's schema in LDIF for Samba; GPL-3.0,
 *   only the identifiers are used, no text is copied).
 * - "exchange-attribute-map": a published map of Exchange's user attributes
 *   (ldapDisplayName, attributeSyntax, attributeID) for msExchUMRecipientDialPlanLink,
 *   which openchange's Exchange 2007 schema lacks; it carries no schemaIDGUID, so
 *   the DC generates one.
 * The base AD schema already has mail, proxyAddresses (1.2.840.113556.1.2.210),
 * legacyExchangeDN (1.2.840.113556.1.4.655), serialNumber (2.5.4.5) and
 * versionNumber (1.2.840.113556.1.4.141).
 */

export interface ExchangeAttribute {
  lDAPDisplayName: string;
  cn: string;
  attributeID: string;
  attributeSyntax: string;
  oMSyntax: number;
  /** base64 of the OM object class, for DN-syntax attributes */
  oMObjectClass?: string;
  isSingleValued: boolean;
  /** GUID string, or null where the source has none (the DC generates one) */
  schemaIDGUID: string | null;
  rangeUpper?: number;
  searchFlags: number;
  linkID?: number;
  source: 'openchange' | 'exchange-attribute-map';
}

const DN_OM_OBJECT_CLASS = 'KwwCh3McAIVK'; // 1.3.12.2.1011.28.0.714 (DS-DN), as AD stores it

export const EXCHANGE_ATTRIBUTES: ExchangeAttribute[] = [
  { lDAPDisplayName: 'targetAddress', cn: 'ms-Exch-Target-Address', attributeID: '1.2.840.113556.1.2.352', attributeSyntax: '2.5.5.12', oMSyntax: 64, isSingleValued: true, schemaIDGUID: 'f0f8ff9f-1191-11d0-a060-00aa006c33ed', rangeUpper: 1123, searchFlags: 1, source: 'openchange' },
  { lDAPDisplayName: 'mailNickname', cn: 'ms-Exch-Mail-Nickname', attributeID: '1.2.840.113556.1.2.447', attributeSyntax: '2.5.5.12', oMSyntax: 64, isSingleValued: true, schemaIDGUID: 'bf9679b3-0de6-11d0-a285-00aa003049e2', rangeUpper: 64, searchFlags: 5, source: 'openchange' },
  { lDAPDisplayName: 'msExchRecipientTypeDetails', cn: 'ms-Exch-Recipient-Type-Details', attributeID: '1.2.840.113556.1.4.7000.102.50855', attributeSyntax: '2.5.5.16', oMSyntax: 65, isSingleValued: true, schemaIDGUID: '069ba1f8-540a-42a9-bf26-a7dd35475346', searchFlags: 1, source: 'openchange' },
  { lDAPDisplayName: 'msExchRecipientDisplayType', cn: 'ms-Exch-Recipient-Display-Type', attributeID: '1.2.840.113556.1.4.7000.102.50730', attributeSyntax: '2.5.5.9', oMSyntax: 2, isSingleValued: true, schemaIDGUID: 'b893abb0-767e-4f20-915f-3857bbc96afe', searchFlags: 1, source: 'openchange' },
  { lDAPDisplayName: 'msExchMailboxGuid', cn: 'ms-Exch-Mailbox-Guid', attributeID: '1.2.840.113556.1.4.7000.102.11058', attributeSyntax: '2.5.5.10', oMSyntax: 4, isSingleValued: true, schemaIDGUID: '9333af48-b09e-11d2-aa06-00c04f8eedd8', rangeUpper: 16, searchFlags: 9, source: 'openchange' },
  { lDAPDisplayName: 'homeMDB', cn: 'ms-Exch-Home-MDB', attributeID: '1.2.840.113556.1.2.244', attributeSyntax: '2.5.5.1', oMSyntax: 127, oMObjectClass: DN_OM_OBJECT_CLASS, isSingleValued: true, schemaIDGUID: 'bf967987-0de6-11d0-a285-00aa003049e2', searchFlags: 0, linkID: 32, source: 'openchange' },
  { lDAPDisplayName: 'msExchHomeServerName', cn: 'ms-Exch-Home-Server-Name', attributeID: '1.2.840.113556.1.4.7000.102.47', attributeSyntax: '2.5.5.12', oMSyntax: 64, isSingleValued: true, schemaIDGUID: 'a284f30e-b093-11d2-aa06-00c04f8eedd8', searchFlags: 25, source: 'openchange' },
  { lDAPDisplayName: 'msExchUMRecipientDialPlanLink', cn: 'ms-Exch-UM-Recipient-Dial-Plan-Link', attributeID: '1.2.840.113556.1.4.7000.102.50388', attributeSyntax: '2.5.5.1', oMSyntax: 127, oMObjectClass: DN_OM_OBJECT_CLASS, isSingleValued: true, schemaIDGUID: null, searchFlags: 0, source: 'exchange-attribute-map' },
];

export interface ExchangeClass {
  lDAPDisplayName: string;
  cn: string;
  governsID: string;
  schemaIDGUID: string;
  subClassOf: string;
  /** 1 structural, 3 auxiliary */
  objectClassCategory: 1 | 3;
  mayContain: string[];
  possSuperiors?: string[];
}

/**
 * Exchange's classes with only the attributes above in mayContain (Exchange's
 * own lists name hundreds the lab does not define). msExchExchangeServer's
 * real superior is msExchServersContainer; the lab's configuration tree is
 * plain containers, so it may sit under a container.
 */
export const EXCHANGE_CLASSES: ExchangeClass[] = [
  { lDAPDisplayName: 'msExchMailStorage', cn: 'ms-Exch-Mail-Storage', governsID: '1.2.840.113556.1.5.7000.62.5', schemaIDGUID: '03652000-a981-11d2-a9ff-00c04f8eedd8', subClassOf: 'top', objectClassCategory: 3, mayContain: ['msExchMailboxGuid', 'msExchHomeServerName', 'homeMDB'] },
  { lDAPDisplayName: 'msExchExchangeServer', cn: 'ms-Exch-Exchange-Server', governsID: '1.2.840.113556.1.5.7000.62.50009', schemaIDGUID: '01a9aa9c-a981-11d2-a9ff-00c04f8eedd8', subClassOf: 'server', objectClassCategory: 1, mayContain: ['versionNumber', 'serialNumber', 'legacyExchangeDN'], possSuperiors: ['container'] },
];

/** Exchange adds these to AD's mailRecipient (openchange's oc_provision_schema_modify.ldif does the same). */
export const MAIL_RECIPIENT_ADDITIONS = ['targetAddress', 'mailNickname', 'msExchRecipientTypeDetails', 'msExchRecipientDisplayType', 'msExchUMRecipientDialPlanLink'];
/** and msExchMailStorage to user's auxiliary classes */
export const USER_AUXILIARY_ADDITIONS = ['msExchMailStorage'];

/** Bumped whenever the lists above change: part of the cached DC's key. */
export const EXCHANGE_SCHEMA_REVISION = 2;
