/**
 * The lab itself, against the running servers (`npm run lab:up && npm run
 * lab:seed`): every server answers, the seed is what IMAP, LDAP and DAV
 * report, and createOrgUser/removeOrgUser leave both sides as promised.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { Client } from 'ldapts';
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

async function ldapEntry(side: 'onprem' | 'cloud', dn: string): Promise<Record<string, unknown> | null> {
  const client = new Client({ url: info[side].ldap.url });
  try {
    await client.bind(info[side].ldap.bindDn, info[side].ldap.password);
    const { searchEntries } = await client.search(dn, { scope: 'base' });
    return searchEntries[0] ?? null;
  } catch (error) {
    if ((error as { code?: number }).code === 32) return null;
    throw error;
  } finally {
    await client.unbind();
  }
}

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
    expect(statuses).toHaveLength(6);
  });

  it('tenant flags: dir sync on, accepted and federated domains', async () => {
    const tenant = await ldapEntry('cloud', TENANT_DN);
    expect(tenant?.mfDirSyncEnabled).toBe('TRUE');
    expect(list(tenant?.mfAcceptedDomain).sort()).toEqual([DOMAINS.federated, DOMAINS.primary, DOMAINS.routing].sort());
    expect(list(tenant?.mfFederatedDomain)).toEqual([DOMAINS.federated]);
    const organization = await ldapEntry('onprem', `cn=organization,${info.onprem.ldap.suffix}`);
    expect(organization?.mfServerVersion).toBe('Exchange 2007');
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
    const um = await ldapEntry('onprem', recipientDn('onprem', byKind.get('um-enabled')!));
    expect(um?.mfUMEnabled).toBe('TRUE');
    expect(await ldapEntry('cloud', recipientDn('cloud', byKind.get('no-meu')!))).toBeNull();
    expect(await ldapEntry('onprem', recipientDn('onprem', byKind.get('no-meu')!))).not.toBeNull();
    expect(byKind.get('federated')!.endsWith(`@${DOMAINS.federated}`)).toBe(true);
    expect(info.domains.accepted).not.toContain(byKind.get('not-accepted')!.split('@')[1]);

    const normal = byKind.get('normal')!;
    const source = await ldapEntry('onprem', recipientDn('onprem', normal));
    expect(source).toMatchObject({ mail: normal, mfRecipientType: 'UserMailbox', mfUMEnabled: 'FALSE', proxyAddresses: `SMTP:${normal}` });
    expect(source?.targetAddress).toBeUndefined();
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
    expect(await ldapEntry('onprem', recipientDn('onprem', address))).toBeNull();
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
      expect(await ldapEntry('onprem', recipientDn('onprem', other))).not.toBeNull();
      expect(await ldapEntry('cloud', recipientDn('cloud', other))).toBeNull();
    } finally {
      await removeOrgUser(info, other);
    }
  });
});
