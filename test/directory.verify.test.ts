/**
 * verifyMeu and preflight against the lab: each edge case the seed names gives
 * its own error code, with the address in the message and never the password.
 */
import { randomUUID } from 'node:crypto';
import { Attribute, Change, Client } from 'ldapts';
import { preflight, verifyMeu, type CloudDirectory, type SourceDirectory } from '../connectors/directory';
import { DOMAINS } from '../lab/config';
import { readLabInfo, type LabInfo, type LabUserKind } from '../lab/info';
import { SERVER_NAME, SERVER_SERIAL } from '../lab/ad/directory';
import { DEFAULT_SERVER_VERSION, setSourceServerVersion, setTenantDirSync } from '../lab/org';
import { createOrgUser, removeOrgUser } from '../lab/users';
import { expectCode, labDirectories } from './helpers/lab';

let info: LabInfo;
let source: SourceDirectory;
let cloud: CloudDirectory;
const created: string[] = [];

const DOMAIN_OF: Record<LabUserKind, string> = {
  normal: DOMAINS.primary,
  'no-meu': DOMAINS.primary,
  'um-enabled': DOMAINS.primary,
  federated: DOMAINS.federated,
  'not-accepted': DOMAINS.notAccepted,
};

async function newUser(kind: LabUserKind): Promise<string> {
  const address = `verify-${kind}-${randomUUID().slice(0, 8)}@${DOMAIN_OF[kind]}`;
  await createOrgUser(info, { address, password: 'Onprem-P4ss', kind, messages: 0, contacts: 0, events: 0, withMeu: kind !== 'no-meu' });
  created.push(address);
  return address;
}

beforeAll(() => {
  info = readLabInfo();
  ({ source, cloud } = labDirectories(info));
});

afterAll(async () => {
  for (const address of created) await removeOrgUser(info, address);
  await source.close();
  await cloud.close();
});

describe('verifyMeu', () => {
  it('accepts a mailbox with an MEU and returns both', async () => {
    const address = await newUser('normal');
    const found = await verifyMeu(source, cloud, { address, forceChangePassword: true, password: 'P@ssw0rd' });
    expect(found).toMatchObject({
      alreadyMailbox: false,
      federated: false,
      source: { address, recipientType: 'UserMailbox' },
      cloud: { recipientType: 'MailUser' },
    });
  });

  it('SOURCE_MAILBOX_NOT_FOUND for an address with no on-premises mailbox', async () => {
    const address = `verify-ghost-${randomUUID().slice(0, 8)}@${DOMAINS.primary}`;
    await expectCode(verifyMeu(source, cloud, { address, forceChangePassword: false }), 'SOURCE_MAILBOX_NOT_FOUND', address);
  });

  it('UM_ENABLED for a UM-enabled mailbox', async () => {
    const address = await newUser('um-enabled');
    await expectCode(verifyMeu(source, cloud, { address, forceChangePassword: false }), 'UM_ENABLED', address);
  });

  it('DOMAIN_NOT_ACCEPTED for a domain the tenant does not accept', async () => {
    const address = await newUser('not-accepted');
    await expectCode(verifyMeu(source, cloud, { address, forceChangePassword: false }), 'DOMAIN_NOT_ACCEPTED', address);
  });

  it('FEDERATED_FORCE_CHANGE for ForceChangePassword True in a federated domain; False passes', async () => {
    const address = await newUser('federated');
    await expectCode(verifyMeu(source, cloud, { address, forceChangePassword: true }), 'FEDERATED_FORCE_CHANGE', address);
    expect(await verifyMeu(source, cloud, { address, forceChangePassword: false })).toMatchObject({
      federated: true,
      alreadyMailbox: false,
    });
  });

  it('MEU_NOT_FOUND when directory sync created no MEU', async () => {
    const address = await newUser('no-meu');
    await expectCode(verifyMeu(source, cloud, { address, forceChangePassword: false }), 'MEU_NOT_FOUND', address);
  });

  it('PASSWORD_POLICY for a weak password, which the message never shows', async () => {
    const address = await newUser('normal');
    for (const weak of ['Sh0rt!', 'alllowercase', 'lowerUPPER']) {
      const error = await expectCode(
        verifyMeu(source, cloud, { address, forceChangePassword: false, password: weak }),
        'PASSWORD_POLICY',
        address,
      );
      expect(error.message).not.toContain(weak);
    }
  });

  it('NOT_A_MAIL_USER when the cloud object at the address is another kind of recipient', async () => {
    const address = await newUser('normal');
    const dn = (await cloud.findRecipient(address))!.dn;
    const client = new Client({ url: info.cloud.ldap.url });
    await client.bind(info.cloud.ldap.bindDn, info.cloud.ldap.password);
    try {
      await client.modify(
        dn,
        new Change({ operation: 'replace', modification: new Attribute({ type: 'mfRecipientType', values: ['MailContact'] }) }),
      );
    } finally {
      await client.unbind();
    }
    await expectCode(verifyMeu(source, cloud, { address, forceChangePassword: false }), 'NOT_A_MAIL_USER', address);
  });

  it('reports an already converted row as alreadyMailbox, not as an error', async () => {
    const address = await newUser('normal');
    await cloud.convertToMailbox(address, { password: 'P@ssw0rd', forceChangePassword: false });
    expect(await verifyMeu(source, cloud, { address, forceChangePassword: false, password: 'P@ssw0rd' })).toMatchObject({
      alreadyMailbox: true,
    });
    // and after seed step 5 turned the on-premises mailbox into a mail user
    await source.setTargetAddress(address, cloud.routingAddress(address));
    await source.convertToMailUser(address, { proxyAddresses: [], legacyExchangeDN: null });
    expect(await verifyMeu(source, cloud, { address, forceChangePassword: false })).toMatchObject({ alreadyMailbox: true });
  });
});

describe('preflight', () => {
  it('passes on the lab as seeded', async () => {
    // read from the Exchange server object's serialNumber in the DC's configuration partition
    const result = await preflight(source, cloud);
    expect(result).toMatchObject({ tenant: { dirSyncEnabled: true } });
    expect(result.serverVersion).toBe(`${DEFAULT_SERVER_VERSION} (${SERVER_SERIAL[DEFAULT_SERVER_VERSION]}, server ${SERVER_NAME})`);
  });

  it('DIRSYNC_DISABLED when directory synchronisation is off', async () => {
    await setTenantDirSync(info, false);
    try {
      const error = await expectCode(preflight(source, cloud), 'DIRSYNC_DISABLED');
      expect(error.message).toMatch(/directory synchronisation/i);
    } finally {
      await setTenantDirSync(info, true);
    }
  });

  it.each(['Exchange 2010', 'Exchange 2013'])('UNSUPPORTED_SOURCE_VERSION for %s; 2003 passes', async (version) => {
    try {
      await setSourceServerVersion(info, version);
      const error = await expectCode(preflight(source, cloud), 'UNSUPPORTED_SOURCE_VERSION');
      expect(error.message).toContain(version);
      await setSourceServerVersion(info, 'Exchange 2003');
      expect((await preflight(source, cloud)).serverVersion).toMatch(/^Exchange 2003 \(Version 6\.5 /);
    } finally {
      await setSourceServerVersion(info, DEFAULT_SERVER_VERSION);
    }
  });
});
