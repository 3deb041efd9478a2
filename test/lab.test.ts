/**
 * The lab itself, against the running servers (`npm run lab:up && npm run
 * lab:seed`): every server answers, the seed is what IMAP, LDAP and DAV
 * report, and createOrgUser/removeOrgUser leave both sides as promised. The
 * on-premises directory is the Samba AD DC: its users are real `user`
 * objects with Exchange's attributes, and its Exchange server object carries
 * the version.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { Client } from 'ldapts';
import { DATABASE_DN, DIAL_PLAN_DN, SERVER_DN, SERVER_LEGACY_DN, USER_MAILBOX, userDn, withDomainAdmin } from '../lab/ad/directory';
import { DOMAINS, mailHome, recipientDn } from '../lab/config';
import { readLabInfo, type LabInfo } from '../lab/info';
import { TENANT_DN } from '../lab/org';
import { labStatus } from '../lab/status';
import { createOrgUser, removeOrgUser, routingAddress } from '../lab/users';

let info: LabInfo;

beforeAll(() => {
  info = readLabInfo();
});

function imap(side: 'onprem' | 'cloud', user: string, pass: string): ImapFlow {
  const { host, port } = info[side].imap;
  return new ImapFlow({ host, port, secure: false, doSTARTTLS: false, auth: { user, pass }, logger: false });
}

/** as the migration would: the admin's master login into the user's mailbox */
const asAdmin = (side: 'onprem' | 'cloud', address: string) => imap(side, `${address}*${info[side].imap.admin.user}`, info[side].imap.admin.password);

async function mailboxTotals(client: ImapFlow): Promise<{ folders: Record<string, number>; messages: number; bytes: number }> {
  const folders: Record<string, number> = {};
  let messages = 0;
  let bytes = 0;
  for (const folder of await client.list()) {
    if (folder.flags.has('\\Noselect')) continue;
    const lock = await client.getMailboxLock(folder.path);
    try {
      folders[folder.path] = 0;
      for await (const m of client.fetch('1:*', { size: true })) {
        folders[folder.path]++;
        messages++;
        bytes += m.size ?? 0;
      }
    } finally {
      lock.release();
    }
  }
  return { folders, messages, bytes };
}

async function baseEntry(client: Client, dn: string, attributes?: string[]): Promise<Record<string, unknown> | null> {
  try {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes, explicitBufferAttributes: ['msExchMailboxGuid'] });
    return searchEntries[0] ?? null;
  } catch (error) {
    if ((error as { code?: number }).code === 32) return null;
    throw error;
  }
}

async function ldapEntry(side: 'cloud', dn: string): Promise<Record<string, unknown> | null> {
  const client = new Client({ url: info[side].ldap.url });
  try {
    await client.bind(info[side].ldap.bindDn, info[side].ldap.password);
    return await baseEntry(client, dn);
  } finally {
    await client.unbind();
  }
}

/** the AD user of an on-prem address (its CN is the address), as the lab's migration administrator reads it */
const adUser = (address: string) => withDomainAdmin(info, (client) => baseEntry(client, userDn(address), ['*']));

const list = (value: unknown): string[] => ([] as string[]).concat((value as string | string[] | undefined) ?? []);

/** number of items in a DAV collection as the side's admin sees it, or null when it does not exist */
async function davItems(side: 'onprem' | 'cloud', path: string): Promise<number | null> {
  const { url, admin } = info[side].dav;
  const response = await fetch(new URL(path, url), {
    method: 'PROPFIND',
    headers: { Depth: '1', Authorization: `Basic ${Buffer.from(`${admin.user}:${admin.password}`).toString('base64')}` },
  });
  const body = await response.text();
  if (response.status === 404) return null;
  expect(response.status).toBe(207);
  return (body.match(/<(?:\w+:)?response>/g) ?? []).length - 1;
}

describe('lab servers', () => {
  it('every server runs and answers its protocol', async () => {
    const statuses = await labStatus(info);
    expect(statuses.map((s) => [s.name, s.problem])).toEqual(statuses.map((s) => [s.name, null]));
    expect(statuses.map((s) => [s.name, s.running])).toEqual(
      ['samba', 'slapd', 'oauth', 'dovecot-onprem', 'dovecot-cloud', 'radicale-onprem', 'radicale-cloud', 'smtp', 'graph'].map((n) => [n, true]),
    );
  });

  it('tenant flags: dir sync on, accepted and federated domains', async () => {
    const tenant = await ldapEntry('cloud', TENANT_DN);
    expect(tenant?.mfDirSyncEnabled).toBe('TRUE');
    expect(list(tenant?.mfAcceptedDomain).sort()).toEqual([DOMAINS.federated, DOMAINS.primary, DOMAINS.routing].sort());
    expect(list(tenant?.mfFederatedDomain)).toEqual([DOMAINS.federated]);
    const server = await withDomainAdmin(info, (client) => baseEntry(client, SERVER_DN, ['objectClass', 'serialNumber', 'legacyExchangeDN']));
    expect(list(server?.objectClass)).toContain('msExchExchangeServer');
    expect(server).toMatchObject({ serialNumber: 'Version 8.3 (Build 83.6)', legacyExchangeDN: SERVER_LEGACY_DN });
  });

  it('the DC answers only over TLS, with a certificate the lab CA signed, to DOMAIN\\user and UPN binds', async () => {
    const { url, bindDn, bindUpn, password, caFile } = info.onprem.ldap;
    expect(url).toMatch(/^ldaps:/);
    for (const name of [bindDn, bindUpn!]) {
      const client = new Client({ url, tlsOptions: { ca: [readFileSync(caFile!)] } });
      await client.bind(name, password);
      await client.unbind();
    }
    // without the lab CA the certificate does not verify
    const untrusted = new Client({ url, connectTimeout: 3000 });
    await expect(untrusted.bind(bindDn, password)).rejects.toThrow(/certificate/i);
    await untrusted.unbind().catch(() => undefined);
    // AD refuses a simple bind without TLS
    const plain = new Client({ url: 'ldap://127.0.0.1:389', connectTimeout: 3000 });
    await expect(plain.bind(bindDn, password)).rejects.toThrow(/Transport encryption required/);
    await plain.unbind().catch(() => undefined);
  });
});

describe('seeded organisation', () => {
  const seed = () => {
    if (!info.seed) throw new Error('the lab is not seeded: run `npm run lab:seed -- --profile small` first');
    return info.seed;
  };

  it('IMAP reports exactly the messages and bytes the seed recorded (user login and admin login)', async () => {
    const user = seed().users.find((u) => u.kind === 'normal');
    expect(user).toBeDefined();
    const own = imap('onprem', user!.address, user!.password);
    await own.connect();
    const totals = await mailboxTotals(own);
    await own.logout();
    expect({ messages: totals.messages, bytes: totals.bytes }).toEqual({ messages: user!.messages, bytes: user!.bytes });
    expect(Object.keys(totals.folders)).toEqual(
      expect.arrayContaining(['INBOX', 'Sent Items', 'Deleted Items', 'Archive/2019', 'Archive/2020', 'Réunions']),
    );

    const admin = asAdmin('onprem', user!.address);
    await admin.connect();
    const inbox = await admin.status('INBOX', { messages: true });
    expect(inbox && inbox.messages).toBe(totals.folders.INBOX);
    await admin.logout();
  });

  it('edge users carry the attributes their validation rule reads', async () => {
    const byKind = new Map(seed().users.map((u) => [u.kind, u.address]));
    const um = await adUser(byKind.get('um-enabled')!);
    expect(um?.msExchUMRecipientDialPlanLink).toBe(DIAL_PLAN_DN);
    expect(await ldapEntry('cloud', recipientDn('cloud', byKind.get('no-meu')!))).toBeNull();
    expect(await adUser(byKind.get('no-meu')!)).not.toBeNull();
    expect(byKind.get('federated')!.endsWith(`@${DOMAINS.federated}`)).toBe(true);
    expect(info.domains.accepted).not.toContain(byKind.get('not-accepted')!.split('@')[1]);

    const normal = byKind.get('normal')!;
    const source = await adUser(normal);
    expect(source).toMatchObject({
      mail: normal,
      mailNickname: normal.split('@')[0],
      msExchRecipientTypeDetails: USER_MAILBOX.typeDetails,
      msExchRecipientDisplayType: USER_MAILBOX.displayType,
      homeMDB: DATABASE_DN,
      msExchHomeServerName: SERVER_LEGACY_DN,
      proxyAddresses: `SMTP:${normal}`,
    });
    expect(list(source?.objectClass)).toEqual(expect.arrayContaining(['user']));
    expect(source?.userPrincipalName).toBe(`${source?.sAMAccountName}@onprem.test`);
    expect((source?.msExchMailboxGuid as Buffer).length).toBe(16);
    expect(source?.targetAddress).toBeUndefined();
    expect(source?.msExchUMRecipientDialPlanLink).toBeUndefined();
    const meu = await ldapEntry('cloud', recipientDn('cloud', normal));
    expect(meu).toMatchObject({ mail: normal, mfRecipientType: 'MailUser', targetAddress: `SMTP:${normal}` });
    expect(list(meu?.proxyAddresses).sort()).toEqual([`SMTP:${normal}`, `smtp:${routingAddress(normal)}`].sort());
  });
});

describe('createOrgUser / removeOrgUser', () => {
  const address = `labtest-${randomUUID().slice(0, 8)}@${DOMAINS.primary}`;
  const password = 'Lab-Test-9x';

  afterAll(async () => {
    await removeOrgUser(info, address);
  });

  it('creates a complete on-prem user and its cloud MEU, deterministically, and removes both sides', async () => {
    const spec = { address, password, kind: 'normal' as const, messages: 30, seed: 7, contacts: 3, events: 6 };
    const counts = await createOrgUser(info, spec);
    expect(counts).toMatchObject({ messages: 30, contacts: 3, events: 6 });
    // same seed, same bytes: re-creating replaces the user with an identical one
    expect(await createOrgUser(info, spec)).toEqual(counts);

    const client = imap('onprem', address, password);
    await client.connect();
    const totals = await mailboxTotals(client);
    expect({ messages: totals.messages, bytes: totals.bytes }).toEqual({ messages: 30, bytes: counts.bytes });
    expect(totals.folders).toHaveProperty(['Archive/2019']);

    // the edge cases every mailbox of 12+ messages has, in INBOX
    const lock = await client.getMailboxLock('INBOX');
    const ids = new Map<string, Set<string>>();
    const hashes = new Map<string, number>();
    let withoutId = 0;
    for await (const m of client.fetch('1:*', { envelope: true, source: true })) {
      const hash = createHash('sha256').update(m.source!).digest('hex');
      hashes.set(hash, (hashes.get(hash) ?? 0) + 1);
      const id = m.envelope?.messageId;
      if (!id) withoutId++;
      else ids.set(id, (ids.get(id) ?? new Set()).add(hash));
    }
    lock.release();
    await client.logout();
    expect(withoutId).toBe(1);
    expect([...hashes.values()].filter((n) => n === 2)).toHaveLength(1);
    // one Message-ID on two different messages (the duplicate pair shares its ID with identical bytes)
    expect([...ids.values()].filter((hashSet) => hashSet.size === 2)).toHaveLength(1);

    expect(await davItems('onprem', `/${address}/contacts/`)).toBe(3);
    expect(await davItems('onprem', `/${address}/calendar/`)).toBe(6);
    expect((await ldapEntry('cloud', recipientDn('cloud', address)))?.mfRecipientType).toBe('MailUser');

    await removeOrgUser(info, address);
    expect(await adUser(address)).toBeNull();
    expect(await ldapEntry('cloud', recipientDn('cloud', address))).toBeNull();
    expect(await davItems('onprem', `/${address}/`)).toBeNull();
    expect(existsSync(mailHome('onprem', address))).toBe(false);
    const gone = imap('onprem', address, password);
    await expect(gone.connect()).rejects.toThrow();
  });

  it('a no-meu user has no cloud entry', async () => {
    const other = `labtest-${randomUUID().slice(0, 8)}@${DOMAINS.primary}`;
    try {
      await createOrgUser(info, { address: other, password, kind: 'no-meu', messages: 2, contacts: 0, events: 0 });
      expect(await adUser(other)).not.toBeNull();
      expect(await ldapEntry('cloud', recipientDn('cloud', other))).toBeNull();
    } finally {
      await removeOrgUser(info, other);
    }
  });
});
