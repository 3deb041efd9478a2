/**
 * The directory connectors against the lab's real servers (the source: the
 * Samba AD DC with Exchange's schema, over LDAPS; the cloud: slapd): every
 * operation, twice (the second run must find nothing to do), both AD bind
 * formats, certificate verification, paging past AD's 1,000-entry page,
 * Exchange2007MBtoMEU.ps1's result attribute by attribute, and hostile input.
 */
import { randomUUID } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { Attribute, Change, Client, EqualityFilter } from 'ldapts';
import { REMOTE_MAIL_USER_DISPLAY_TYPE, RECIPIENT_TYPE_DETAILS } from '../connectors/directory/attributeMap';
import { LAB_OU, SERVER_NAME, USER_MAILBOX, mailboxGuid, mailboxUserEntry, userDn, withDomainAdmin } from '../lab/ad/directory';
import {
  createCloudDirectory,
  createSourceDirectory,
  TargetAddressMissingError,
  type CloudDirectory,
  type SourceDirectory,
} from '../connectors/directory';
import { DOMAINS } from '../lab/config';
import { readLabInfo, type LabInfo } from '../lab/info';
import { createOrgUser, removeOrgUser } from '../lab/users';
import { MailferryError } from '../shared/errors';
import { errorOf, labDirectories } from './helpers/lab';

const HOSTILE = [
  '*)(mail=*',
  '*',
  'a,b=c@x',
  '\\',
  ',',
  'nul\0@tailspintoys.com',
  '*@tailspintoys.com',
  'x)(|(mail=*)',
  ' lead-and-trail @tailspintoys.com ',
  `${'x'.repeat(300)}@tailspintoys.com`,
];

let info: LabInfo;
let source: SourceDirectory;
let cloud: CloudDirectory;
const created: string[] = [];

function uniqueAddress(tag: string, domain: string = DOMAINS.primary): string {
  return `dir-${tag}-${randomUUID().slice(0, 8)}@${domain}`;
}

async function newUser(tag: string, withMeu = true): Promise<string> {
  const address = uniqueAddress(tag);
  await createOrgUser(info, {
    address,
    password: 'Onprem-P4ss',
    kind: withMeu ? 'normal' : 'no-meu',
    messages: 0,
    contacts: 0,
    events: 0,
    withMeu,
  });
  created.push(address);
  return address;
}

async function asCloudRoot<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url: info.cloud.ldap.url });
  try {
    await client.bind(info.cloud.ldap.bindDn, info.cloud.ldap.password);
    return await fn(client);
  } finally {
    await client.unbind();
  }
}

const BINARY = ['objectGUID', 'objectSid', 'msExchMailboxGuid'];

/** the AD user of an address with every attribute, as the lab's domain admin reads it */
async function adEntry(address: string): Promise<Record<string, unknown>> {
  const [entry] = await withDomainAdmin(info, async (client) =>
    (await client.search(userDn(address), { scope: 'base', attributes: ['*'], explicitBufferAttributes: BINARY })).searchEntries,
  );
  return entry;
}

/** a recipient's entries on both sides with all their values, to prove an operation left them alone */
async function snapshot(address: string): Promise<string> {
  const filter = new EqualityFilter({ attribute: 'mail', value: address });
  const onprem = await withDomainAdmin(info, async (client) =>
    (await client.search(LAB_OU, { scope: 'sub', filter, attributes: ['*'], explicitBufferAttributes: BINARY })).searchEntries,
  );
  const cloudEntries = await asCloudRoot(async (client) =>
    (await client.search(`ou=recipients,${info.cloud.ldap.suffix}`, { scope: 'sub', filter, attributes: ['*'] })).searchEntries,
  );
  expect([...onprem, ...cloudEntries]).toHaveLength(2);
  return JSON.stringify([onprem, cloudEntries]);
}

const list = (value: unknown): string[] => ([] as string[]).concat((value as string | string[] | undefined) ?? []);

beforeAll(() => {
  info = readLabInfo();
  ({ source, cloud } = labDirectories(info));
});

afterAll(async () => {
  for (const address of created) await removeOrgUser(info, address);
  await source.close();
  await cloud.close();
});

describe('source directory', () => {
  it("reads Exchange's version from its server object in the configuration partition", async () => {
    expect(await source.serverVersion()).toBe(`Exchange 2007 (Version 8.3 (Build 83.6), server ${SERVER_NAME})`);
  });

  it('binds as DOMAIN\\user and as UPN over LDAPS with the lab CA; refuses an unverified certificate and a bind without TLS', async () => {
    const { bindDn, bindUpn } = info.onprem.ldap;
    expect(bindDn).toMatch(/^ONPREM\\/);
    for (const name of [bindDn, bindUpn!]) {
      const dir = createSourceDirectory({ ...info.onprem.ldap, bindDn: name });
      expect(await dir.serverVersion()).toMatch(/^Exchange 2007/);
      await dir.close();
    }
    const startTls = createSourceDirectory({ ...info.onprem.ldap, url: 'ldap://127.0.0.1:389', startTls: true });
    expect(await startTls.serverVersion()).toMatch(/^Exchange 2007/);
    await startTls.close();

    const unverified = createSourceDirectory({ ...info.onprem.ldap, caFile: undefined });
    const error = await errorOf(unverified.serverVersion());
    expect(error).toMatchObject({ code: 'CONNECTION_FAILED', permanent: true });
    expect(String((error as Error).message)).toMatch(/certificate/);
    await unverified.close();

    const plaintext = createSourceDirectory({ ...info.onprem.ldap, url: 'ldap://127.0.0.1:389' });
    expect(await errorOf(plaintext.serverVersion())).toMatchObject({ code: 'TLS_REQUIRED' });
    await plaintext.close();
  });

  it('finds a mailbox by primary address in any case, with its GUIDs as .NET strings', async () => {
    const address = await newUser('find');
    const mailbox = await source.findMailbox(address.toUpperCase());
    expect(mailbox).toMatchObject({ address, recipientType: 'UserMailbox', umEnabled: false, targetAddress: null, mailboxGuid: mailboxGuid(address) });
    expect(mailbox?.objectGuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(mailbox?.legacyExchangeDN).not.toBe('');
    expect((await source.listRecipients()).map((m) => m.address)).toContain(address);
  });

  it('finds a mailbox by an smtp: alias, and not by an X500 or non-smtp proxy value', async () => {
    const address = await newUser('alias');
    const alias = uniqueAddress('alias-of');
    const mailbox = await source.findMailbox(address);
    await withDomainAdmin(info, (client) =>
      client.modify(
        mailbox!.dn,
        new Change({ operation: 'add', modification: new Attribute({ type: 'proxyAddresses', values: [`smtp:${alias}`] }) }),
      ),
    );
    expect((await source.findMailbox(alias.toUpperCase()))?.address).toBe(address);
    expect(await source.findMailbox(mailbox!.legacyExchangeDN)).toBeNull();
    expect(await source.findMailbox(`X500:${mailbox!.legacyExchangeDN}`)).toBeNull();
  });

  it('sets TargetAddress once, then reports it already set; restore clears it once', async () => {
    const address = await newUser('target');
    const routing = cloud.routingAddress(address);
    expect(routing).toBe(address.replace(/@.*/, `@${DOMAINS.routing}`));

    const first = await source.setTargetAddress(address, routing);
    expect(first).toMatchObject({ changed: true, previous: null });
    expect((await source.findMailbox(address))?.targetAddress).toBe(`SMTP:${routing}`);
    const second = await source.setTargetAddress(address, routing);
    expect(second).toMatchObject({ changed: false, previous: `SMTP:${routing}` });

    expect(await source.restoreTargetAddress(address, null)).toMatchObject({ changed: true, previous: `SMTP:${routing}` });
    expect((await source.findMailbox(address))?.targetAddress).toBeNull();
    expect(await source.restoreTargetAddress(address, null)).toMatchObject({ changed: false, previous: null });

    await source.setTargetAddress(address, 'someone@elsewhere.test');
    expect(await source.setTargetAddress(address, routing)).toMatchObject({ changed: true, previous: 'SMTP:someone@elsewhere.test' });
    expect(await source.restoreTargetAddress(address, 'SMTP:someone@elsewhere.test')).toMatchObject({
      changed: true,
      previous: `SMTP:${routing}`,
    });
    expect((await source.findMailbox(address))?.targetAddress).toBe('SMTP:someone@elsewhere.test');
  });

  it('converts a mailbox to a mail user as Exchange2007MBtoMEU.ps1 does, attribute by attribute, once', async () => {
    const address = await newUser('meu');
    expect(await errorOf(source.convertToMailUser(address, { proxyAddresses: [], legacyExchangeDN: null }))).toBeInstanceOf(TargetAddressMissingError);
    expect((await source.findMailbox(address))?.recipientType).toBe('UserMailbox');

    const routing = cloud.routingAddress(address);
    await source.setTargetAddress(address, routing);
    // by convert-to-MEU time the cloud MEU is a mailbox, which Exchange Online gives a legacyExchangeDN of its own
    expect((await cloud.findRecipient(address))!.legacyExchangeDN).toBeNull();
    await cloud.convertToMailbox(address, { forceChangePassword: false });
    const cloudMailbox = (await cloud.findRecipient(address))!;
    const cloudProxies = cloudMailbox.proxyAddresses;
    expect(cloudProxies.map((p) => p.toLowerCase())).toContain(`smtp:${routing}`.toLowerCase());
    const alias = address.slice(0, address.lastIndexOf('@'));
    expect(cloudMailbox.legacyExchangeDN?.replace(/\/cn=[0-9a-f]{32}-/, '/cn=<guid>-')).toBe(
      `/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=<guid>-${alias}`,
    );
    // a re-run keeps it: old mail's X500 replies resolve to it
    await cloud.convertToMailbox(address, { forceChangePassword: false });
    expect((await cloud.findRecipient(address))!.legacyExchangeDN).toBe(cloudMailbox.legacyExchangeDN);

    const before = await adEntry(address);
    const first = await source.convertToMailUser(address, cloudMailbox);
    expect(first).toMatchObject({ changed: true, previous: 'UserMailbox' });
    const after = await adEntry(address);
    // Disable-Mailbox + Enable-MailUser -ExternalEmailAddress <cloud> + the old addresses back, as the script leaves the user
    expect(before).toMatchObject({ msExchRecipientTypeDetails: USER_MAILBOX.typeDetails, msExchRecipientDisplayType: USER_MAILBOX.displayType });
    expect(after).toMatchObject({
      msExchRecipientTypeDetails: RECIPIENT_TYPE_DETAILS.MailUser,
      msExchRecipientDisplayType: REMOTE_MAIL_USER_DISPLAY_TYPE,
      targetAddress: `SMTP:${routing}`,
      mail: before.mail,
      mailNickname: before.mailNickname,
      legacyExchangeDN: before.legacyExchangeDN,
      sAMAccountName: before.sAMAccountName,
      userPrincipalName: before.userPrincipalName,
    });
    expect(after.homeMDB).toBeUndefined();
    expect(after.msExchHomeServerName).toBeUndefined();
    expect((after.msExchMailboxGuid as Buffer).equals(before.msExchMailboxGuid as Buffer)).toBe(true);
    expect(list(after.proxyAddresses).sort()).toEqual(
      [
        `SMTP:${address}`,
        ...cloudProxies.filter((p) => p.toLowerCase() !== `smtp:${address}`),
        `X500:${before.legacyExchangeDN}`,
        `X500:${cloudMailbox.legacyExchangeDN}`,
      ].sort(),
    );
    const converted = (await source.findMailbox(address))!;
    expect(converted.recipientType).toBe('MailUser');
    expect(converted.targetAddress).toBe(`SMTP:${routing}`);
    expect(converted.proxyAddresses.filter((p) => p.startsWith('SMTP:'))).toEqual([`SMTP:${address}`]);
    expect(converted.proxyAddresses).toEqual(expect.arrayContaining([`smtp:${routing}`, `X500:${converted.legacyExchangeDN}`]));

    expect(await source.convertToMailUser(address, cloudMailbox)).toMatchObject({ changed: false, previous: 'MailUser' });
    // proxy addresses compare without case: the cloud spelling its X500 differently adds no second one
    const respelled = { proxyAddresses: cloudProxies.map((p) => p.toUpperCase()), legacyExchangeDN: cloudMailbox.legacyExchangeDN!.toUpperCase() };
    expect(await source.convertToMailUser(address, respelled)).toMatchObject({ changed: false, previous: 'MailUser' });
    expect((await source.findMailbox(address))!.proxyAddresses).toEqual(converted.proxyAddresses);
  });

  it('refuses unknown addresses with SOURCE_MAILBOX_NOT_FOUND', async () => {
    const missing = uniqueAddress('missing');
    for (const call of [
      source.setTargetAddress(missing, 'x@y.test'),
      source.restoreTargetAddress(missing, null),
      source.convertToMailUser(missing, { proxyAddresses: [], legacyExchangeDN: null }),
    ]) {
      expect(await errorOf(call)).toMatchObject({ code: 'SOURCE_MAILBOX_NOT_FOUND' });
    }
  });
});

describe('source directory at scale', () => {
  const PAGING_OU = `OU=paging,${LAB_OU}`;
  const BULK = 1050;
  const bulkAddress = (i: number) => `bulk-${String(i).padStart(4, '0')}@${DOMAINS.primary}`;

  /** 1,050 mailbox users, created once per DC and kept (outside the OU the seed wipes) */
  async function ensureBulkUsers(): Promise<void> {
    await withDomainAdmin(info, async (client) => {
      const existing = await client
        .search(PAGING_OU, { scope: 'one', attributes: ['mail'], paged: { pageSize: 500 } })
        .then((r) => new Set(r.searchEntries.map((e) => String(e.mail))))
        .catch(async (error: { code?: number }) => {
          if (error.code !== 32) throw error;
          await client.add(PAGING_OU, { objectClass: ['top', 'organizationalUnit'], ou: 'paging' });
          return new Set<string>();
        });
      const missing = Array.from({ length: BULK }, (_, i) => bulkAddress(i)).filter((a) => !existing.has(a));
      for (const address of missing) {
        await client.add(`CN=${address},${PAGING_OU}`, {
          objectClass: ['top', 'person', 'organizationalPerson', 'user'],
          sAMAccountName: `b${info.onprem.ldap.bindDn.replace(/\D/g, '')}-${address.slice(5, 9)}`,
          mail: address,
          proxyAddresses: `SMTP:${address}`,
          msExchRecipientTypeDetails: USER_MAILBOX.typeDetails,
        });
      }
    });
  }

  it("lists past AD's 1,000-entry page (MaxPageSize), page by page", async () => {
    await ensureBulkUsers();
    const all = (await source.listRecipients()).map((m) => m.address);
    const bulk = all.filter((a) => a.startsWith('bulk-'));
    expect(bulk).toHaveLength(BULK);
    expect(new Set(bulk).size).toBe(BULK);
  }, 600_000);
});

describe('cloud directory', () => {
  it('reads the tenant', async () => {
    const tenant = await cloud.tenant();
    expect(tenant.dirSyncEnabled).toBe(true);
    expect(tenant.acceptedDomains).toEqual(expect.arrayContaining([DOMAINS.primary, DOMAINS.federated]));
    expect(tenant.federatedDomains).toEqual([DOMAINS.federated]);
  });

  it('converts an MEU to a mailbox once; the user then signs in to the cloud IMAP with the CSV password', async () => {
    const address = await newUser('mbx');
    const meu = await cloud.findRecipient(address);
    expect(meu).toMatchObject({ recipientType: 'MailUser', targetAddress: expect.stringContaining(address) });
    expect((await cloud.listRecipients()).map((r) => r.address)).toContain(address);

    const password = `Cloud-${randomUUID().slice(0, 8)}!`;
    const first = await cloud.convertToMailbox(address, { password, forceChangePassword: true });
    expect(first).toMatchObject({ changed: true, previous: 'MailUser' });
    expect(first.detail).not.toContain(password);
    expect(await cloud.findRecipient(address)).toMatchObject({ recipientType: 'UserMailbox', forceChangePassword: true });
    const second = await cloud.convertToMailbox(address, { password: 'Other-Passw0rd', forceChangePassword: false });
    expect(second).toMatchObject({ changed: false, previous: 'UserMailbox' });
    const mailbox = (await cloud.findRecipient(address))!;
    expect(mailbox).toMatchObject({ forceChangePassword: true, legacyExchangeDN: expect.stringMatching(/^\/o=ExchangeLabs\//) });
    // a mailbox made some other way without a legacyExchangeDN gets one on a re-run, and only that
    await asCloudRoot((client) =>
      client.modify(mailbox.dn, [new Change({ operation: 'delete', modification: new Attribute({ type: 'legacyExchangeDN', values: [] }) })]),
    );
    const third = await cloud.convertToMailbox(address, { password: 'Other-Passw0rd', forceChangePassword: false });
    expect(third).toMatchObject({ changed: true, previous: 'UserMailbox' });
    const given = (await cloud.findRecipient(address))!;
    expect(given).toMatchObject({ forceChangePassword: true, legacyExchangeDN: expect.stringMatching(/^\/o=ExchangeLabs\//) });
    expect(given.legacyExchangeDN).not.toBe(mailbox.legacyExchangeDN);

    const imap = (pass: string) =>
      new ImapFlow({
        host: info.cloud.imap.host,
        port: info.cloud.imap.port,
        secure: false,
        doSTARTTLS: false,
        auth: { user: address, pass },
        logger: false,
      });
    const client = imap(password);
    await client.connect();
    expect(client.authenticated).toBeTruthy();
    await client.logout();
    // the re-run did not replace the password
    expect(await errorOf(imap('Other-Passw0rd').connect())).toBeDefined();
  });

  it('refuses to convert an address without an MEU (MEU_NOT_FOUND)', async () => {
    const address = await newUser('nomeu', false);
    expect(await cloud.findRecipient(address)).toBeNull();
    expect(await errorOf(cloud.convertToMailbox(address, { forceChangePassword: false }))).toMatchObject({ code: 'MEU_NOT_FOUND' });
  });
});

describe('hostile addresses', () => {
  it.each(HOSTILE)('%j finds nothing and changes nothing', async (address) => {
    // a filter or DN the input could break out of would reach this recipient too
    const bystander = await newUser('bystander');
    const before = await snapshot(bystander);
    expect(await source.findMailbox(address)).toBeNull();
    expect(await cloud.findRecipient(address)).toBeNull();
    expect(await errorOf(source.setTargetAddress(address, 'x@y.test'))).toMatchObject({ code: 'SOURCE_MAILBOX_NOT_FOUND' });
    expect(await errorOf(source.convertToMailUser(address, { proxyAddresses: ['smtp:x@y.test'], legacyExchangeDN: '/o=ExchangeLabs/cn=x' }))).toMatchObject({ code: 'SOURCE_MAILBOX_NOT_FOUND' });
    expect(await errorOf(cloud.convertToMailbox(address, { password: 'P@ssw0rd', forceChangePassword: false }))).toMatchObject({
      code: 'MEU_NOT_FOUND',
    });
    expect(await snapshot(bystander)).toEqual(before);
  });

  it('works on a recipient whose DN needs RFC 4514 escaping (, + # \\ and leading/trailing spaces)', async () => {
    const address = `o'hara+${randomUUID().slice(0, 6)},a=b;c\\d#@${DOMAINS.primary}`;
    const cn = ` #${address} `;
    const dn = userDn(cn);
    expect(dn).toContain('\\+');
    expect(dn).toContain('\\,a\\=b\\;c\\\\d');
    expect(dn.startsWith('CN=\\ #')).toBe(true);
    await withDomainAdmin(info, (client) =>
      client.add(
        dn,
        mailboxUserEntry({
          address,
          password: 'Onprem-P4ss',
          cn,
          displayName: 'Escaped',
          givenName: 'Escaped',
          sn: 'Escaped',
          legacyExchangeDN: '/o=Tailspin/cn=escaped',
          umEnabled: false,
        }),
      ),
    );
    try {
      // the DC keeps the name exactly, spaces included
      const [stored] = await withDomainAdmin(info, async (client) => (await client.search(dn, { scope: 'base', attributes: ['cn'] })).searchEntries);
      expect(stored.cn).toBe(cn);
      const mailbox = await source.findMailbox(address);
      expect(mailbox?.address).toBe(address);
      expect(await source.setTargetAddress(address, 'escaped@tailspintoys.mail.cloud.test')).toMatchObject({ changed: true });
      expect((await source.findMailbox(address))?.targetAddress).toBe('SMTP:escaped@tailspintoys.mail.cloud.test');
      expect(await source.findMailbox(`o'hara+*@${DOMAINS.primary}`)).toBeNull();
    } finally {
      await withDomainAdmin(info, (client) => client.del(dn));
    }
  });
});

describe('connection failures', () => {
  it('serves concurrent callers on one fresh session (a single bind)', async () => {
    const address = await newUser('concurrent');
    const fresh = createSourceDirectory(info.onprem.ldap);
    try {
      const found = await Promise.all(Array.from({ length: 20 }, () => fresh.findMailbox(address)));
      expect(found.map((m) => m?.address)).toEqual(Array(20).fill(address));
    } finally {
      await fresh.close();
    }
  });

  it('reports a wrong password as AUTH_FAILED without the password', async () => {
    const secret = `wrong-${randomUUID()}`;
    const bad = createSourceDirectory({ ...info.onprem.ldap, password: secret });
    const error = await errorOf(bad.serverVersion());
    expect(error).toBeInstanceOf(MailferryError);
    expect(error).toMatchObject({ code: 'AUTH_FAILED', permanent: true });
    expect(String((error as Error).message)).not.toContain(secret);
    await bad.close();
  });

  it('reports an unreachable server as a retryable CONNECTION_FAILED', async () => {
    const down = createCloudDirectory({ ...info.cloud.ldap, url: 'ldap://127.0.0.1:1', routingDomain: DOMAINS.routing });
    expect(await errorOf(down.tenant())).toMatchObject({ code: 'CONNECTION_FAILED', permanent: false });
    await down.close();
  });
});
