/**
 * This lab's part of the shared Samba AD DC (lab/servers/samba.ts): its OU of
 * mailbox users, its migration administrator, and its Exchange organisation
 * in the configuration partition (server object with its version, mailbox
 * database, UM dial plan), as Exchange 2007 leaves them.
 */
import { createHash } from 'node:crypto';
import { Attribute, Change, Client, EqualityFilter, AndFilter } from 'ldapts';
import { escapeDnValue, guidToBytes } from '../../connectors/directory/ad';
import { ADMIN, splitAddress } from '../config';
import type { LabInfo } from '../info';
import { isNoSuchObject } from '../ldapClient';
import { AD, dcPaths } from '../servers/samba';
import { readFileSync } from 'node:fs';

const key = (process.env.MAILFERRY_LAB_PORT_BASE || '17000').replace(/[^0-9]/g, '');

export const LAB_OU = `OU=lab-${key},${AD.domainDn}`;
export const ADMIN_SAM = `mfadmin${key}`;
export const ADMIN_BIND = `${AD.netbiosDomain}\\${ADMIN_SAM}`;
export const ADMIN_UPN = `${ADMIN_SAM}@${AD.dnsDomain}`;

const ORG_DN = `CN=Tailspin ${key},${AD.exchangeDn}`;
const ADMIN_GROUP_DN = `CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,${ORG_DN}`;
export const SERVER_NAME = `EXCH${key}`;
export const SERVER_DN = `CN=${SERVER_NAME},CN=Servers,${ADMIN_GROUP_DN}`;
export const SERVER_LEGACY_DN = `/o=Tailspin/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=${SERVER_NAME}`;
export const DATABASE_DN = `CN=Mailbox Database ${key},CN=Databases,${ADMIN_GROUP_DN}`;
export const DIAL_PLAN_DN = `CN=Lab Dial Plan,CN=UM DialPlan Container,${ORG_DN}`;

/** What Exchange's setup writes as the server's serialNumber, per version (the connector reads the major.minor). */
export const SERVER_SERIAL: Record<string, string> = {
  'Exchange 2003': 'Version 6.5 (Build 7638.2: Service Pack 2)',
  'Exchange 2007': 'Version 8.3 (Build 83.6)',
  'Exchange 2010': 'Version 14.3 (Build 123.4)',
  'Exchange 2013': 'Version 15.0 (Build 1497.2)',
  'Exchange 2016': 'Version 15.1 (Build 2507.6)',
  'Exchange 2019': 'Version 15.2 (Build 1118.7)',
};

/** msExchRecipientTypeDetails and msExchRecipientDisplayType of an Exchange 2007 mailbox */
export const USER_MAILBOX = { typeDetails: '1', displayType: '1073741824' } as const;

export async function withDomainAdmin<T>(info: LabInfo, fn: (client: Client) => Promise<T>): Promise<T> {
  const { url, bindDn, password, caFile } = info.onprem.ldap;
  const client = new Client({ url, timeout: 30000, connectTimeout: 5000, tlsOptions: { ca: [readFileSync(caFile ?? dcPaths().ca)] } });
  try {
    await client.bind(bindDn, password);
    return await fn(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** sAMAccountName is unique in the whole domain (every lab shares it) and at most 20 characters */
export function samAccountName(address: string): string {
  return `m${key}-${createHash('sha1').update(address.toLowerCase()).digest('hex').slice(0, 8)}`;
}

/** a deterministic mailbox GUID per (lab, address), so a re-created user keeps it */
export function mailboxGuid(address: string): string {
  const h = createHash('sha1').update(`mailbox/${key}/${address.toLowerCase()}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** AD takes a new password only as the UTF-16LE bytes of the quoted string, and only over an encrypted connection */
export function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

export interface AdMailboxSpec {
  address: string;
  password: string;
  /** the RDN value (`CN=<cn>,<lab OU>`) */
  cn: string;
  displayName: string;
  givenName: string;
  sn: string;
  legacyExchangeDN: string;
  umEnabled: boolean;
  sam?: string;
}

export function userDn(cn: string): string {
  return `CN=${escapeDnValue(cn)},${LAB_OU}`;
}

/** A mailbox-enabled `user` as Exchange 2007's New-Mailbox leaves it. */
export function mailboxUserEntry(spec: AdMailboxSpec): Attribute[] {
  const sam = spec.sam ?? samAccountName(spec.address);
  const values: Record<string, string[] | Buffer[]> = {
    objectClass: ['top', 'person', 'organizationalPerson', 'user'],
    cn: [spec.cn],
    sAMAccountName: [sam],
    userPrincipalName: [`${sam}@${AD.dnsDomain}`],
    givenName: [spec.givenName],
    sn: [spec.sn],
    displayName: [spec.displayName],
    mail: [spec.address],
    mailNickname: [splitAddress(spec.address)[0]],
    proxyAddresses: [`SMTP:${spec.address}`],
    legacyExchangeDN: [spec.legacyExchangeDN],
    msExchRecipientTypeDetails: [USER_MAILBOX.typeDetails],
    msExchRecipientDisplayType: [USER_MAILBOX.displayType],
    homeMDB: [DATABASE_DN],
    msExchHomeServerName: [SERVER_LEGACY_DN],
    msExchMailboxGuid: [guidToBytes(mailboxGuid(spec.address))],
    unicodePwd: [unicodePwd(spec.password)],
    // 512: a normal, enabled account (the password above makes it valid)
    userAccountControl: ['512'],
  };
  if (spec.umEnabled) values.msExchUMRecipientDialPlanLink = [DIAL_PLAN_DN];
  return Object.entries(values).map(([type, v]) => new Attribute({ type, values: v }));
}

async function exists(client: Client, dn: string): Promise<boolean> {
  try {
    return (await client.search(dn, { scope: 'base', attributes: ['1.1'] })).searchEntries.length > 0;
  } catch (error) {
    if (isNoSuchObject(error)) return false;
    throw error;
  }
}

const container = (cn: string) => ({ objectClass: ['top', 'container'], cn });

/**
 * The lab's OU, administrator and Exchange organisation; creates what is
 * missing and never changes what exists. Runs as the domain's Administrator
 * (the lab administrator is one of the things it creates).
 */
export async function ensureAdBase(client: Client, adminPassword: string, defaultVersion: string): Promise<void> {
  if (!(await exists(client, LAB_OU))) await client.add(LAB_OU, { objectClass: ['top', 'organizationalUnit'], ou: `lab-${key}` });
  const tree: [string, Record<string, string | string[]>][] = [
    [ORG_DN, container(`Tailspin ${key}`)],
    [`CN=Administrative Groups,${ORG_DN}`, container('Administrative Groups')],
    [ADMIN_GROUP_DN, container('Exchange Administrative Group (FYDIBOHF23SPDLT)')],
    [`CN=Servers,${ADMIN_GROUP_DN}`, container('Servers')],
    [
      SERVER_DN,
      {
        objectClass: ['top', 'server', 'msExchExchangeServer'],
        cn: SERVER_NAME,
        serialNumber: SERVER_SERIAL[defaultVersion],
        legacyExchangeDN: SERVER_LEGACY_DN,
      },
    ],
    [`CN=Databases,${ADMIN_GROUP_DN}`, container('Databases')],
    [DATABASE_DN, container(`Mailbox Database ${key}`)],
    [`CN=UM DialPlan Container,${ORG_DN}`, container('UM DialPlan Container')],
    [DIAL_PLAN_DN, container('Lab Dial Plan')],
  ];
  for (const [dn, entry] of tree) if (!(await exists(client, dn))) await client.add(dn, entry);

  const adminDn = userDn('Migration Administrator');
  if (!(await exists(client, adminDn))) {
    await client.add(
      adminDn,
      mailboxUserEntry({
        address: ADMIN.onprem,
        password: adminPassword,
        cn: 'Migration Administrator',
        displayName: 'Migration Administrator',
        givenName: 'Migration',
        sn: 'Administrator',
        legacyExchangeDN: `/o=Tailspin/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=admin${key}`,
        umEnabled: false,
        sam: ADMIN_SAM,
      }),
    );
    // Exchange's migration administrator can write every recipient of the OU
    await client.modify(
      `CN=Domain Admins,CN=Users,${AD.domainDn}`,
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [adminDn] }) }),
    );
  } else {
    // The DC outlives a lab folder (it is cached per machine): a new lab on the same port base brings a new password
    await client.modify(
      adminDn,
      new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(adminPassword)] }) }),
    );
  }
}

export async function setServerVersion(info: LabInfo, version: string): Promise<void> {
  const serial = SERVER_SERIAL[version];
  if (!serial) throw new Error(`unknown Exchange version "${version}" (one of ${Object.keys(SERVER_SERIAL).join(', ')})`);
  await withDomainAdmin(info, (client) =>
    client.modify(SERVER_DN, new Change({ operation: 'replace', modification: new Attribute({ type: 'serialNumber', values: [serial] }) })),
  );
}

/** DNs of this lab's users (directly in its OU) with that primary address */
export async function userDnsByAddress(client: Client, address: string): Promise<string[]> {
  const filter = new AndFilter({
    filters: [new EqualityFilter({ attribute: 'objectClass', value: 'user' }), new EqualityFilter({ attribute: 'mail', value: address })],
  });
  const { searchEntries } = await client.search(LAB_OU, { scope: 'one', filter, attributes: ['1.1'] });
  return searchEntries.map((e) => e.dn);
}

export async function listAdAddresses(client: Client): Promise<string[]> {
  const { searchEntries } = await client.search(LAB_OU, {
    scope: 'one',
    filter: new AndFilter({ filters: [new EqualityFilter({ attribute: 'objectClass', value: 'user' })] }),
    attributes: ['mail'],
    paged: { pageSize: 500 },
  });
  return searchEntries.map((e) => (typeof e.mail === 'string' ? e.mail.toLowerCase() : '')).filter((m) => m !== '' && m !== ADMIN.onprem);
}
