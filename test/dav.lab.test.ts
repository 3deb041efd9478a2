/**
 * The DAV copier against the lab's two Radicale servers: a copy, a second run
 * that copies nothing, a resumed run after a loss, and verifyDav.
 */
import { randomUUID } from 'node:crypto';
import { countDav, createDavCopier, verifyDav, type DavEndpoint } from '../connectors/dav';
import { DOMAINS } from '../lab/config';
import { readLabInfo, type LabInfo } from '../lab/info';
import { createOrgUser, removeOrgUser } from '../lab/users';
import { errorOf } from './helpers/lab';

const CONTACTS = 6;
const EVENTS = 4;

let info: LabInfo;
let onprem: DavEndpoint;
let cloud: DavEndpoint;
const created: string[] = [];

function endpoint(side: 'onprem' | 'cloud'): DavEndpoint {
  return { url: info[side].dav.url, user: info[side].dav.admin.user, password: info[side].dav.admin.password };
}

async function newUser(contacts: number, events: number): Promise<string> {
  const address = `dav-${randomUUID().slice(0, 8)}@${DOMAINS.primary}`;
  await createOrgUser(info, { address, password: 'Onprem-P4ss', kind: 'normal', messages: 0, contacts, events, withMeu: true });
  created.push(address);
  return address;
}

beforeAll(() => {
  info = readLabInfo();
  onprem = endpoint('onprem');
  cloud = endpoint('cloud');
});

afterAll(async () => {
  for (const address of created) await removeOrgUser(info, address);
});

describe('copyDav', () => {
  it('copies every contact and event, then nothing on the second run', async () => {
    const address = await newUser(CONTACTS, EVENTS);
    expect(await countDav(onprem, address)).toEqual({ contacts: CONTACTS, events: EVENTS });
    const copier = createDavCopier();

    const first = await copier.copyDav(onprem, cloud, address);
    expect(first).toEqual({
      contacts: { source: CONTACTS, copied: CONTACTS, existing: 0 },
      events: { source: EVENTS, copied: EVENTS, existing: 0 },
      badItems: [],
    });
    const second = await copier.copyDav(onprem, cloud, address);
    expect(second).toEqual({
      contacts: { source: CONTACTS, copied: 0, existing: CONTACTS },
      events: { source: EVENTS, copied: 0, existing: EVENTS },
      badItems: [],
    });
    expect(await countDav(cloud, address)).toEqual({ contacts: CONTACTS, events: EVENTS });
    expect(await verifyDav(onprem, cloud, address)).toEqual({ contacts: { missing: [], extra: [] }, events: { missing: [], extra: [] } });
  });

  it('copies only what the target lost, and verifyDav names it until then', async () => {
    const address = await newUser(3, 2);
    const copier = createDavCopier();
    await copier.copyDav(onprem, cloud, address);

    // remove one copied event from the target
    const calendar = `${cloud.url.replace(/\/$/, '')}/${address}/calendar/`;
    const auth = `Basic ${Buffer.from(`${cloud.user}:${cloud.password}`).toString('base64')}`;
    const listing = await fetch(calendar, { method: 'PROPFIND', headers: { authorization: auth, depth: '1' } });
    const hrefs = [...(await listing.text()).matchAll(/<(?:\w+:)?href>([^<]+\.ics)<\/(?:\w+:)?href>/g)].map((m) => m[1]!);
    expect(hrefs).toHaveLength(2);
    const deleted = await fetch(new URL(hrefs[0]!, cloud.url), { method: 'DELETE', headers: { authorization: auth } });
    expect(deleted.ok).toBe(true);

    const gap = await verifyDav(onprem, cloud, address);
    expect(gap.events.missing).toHaveLength(1);
    expect(gap.contacts).toEqual({ missing: [], extra: [] });

    expect((await copier.copyDav(onprem, cloud, address)).events).toEqual({ source: 2, copied: 1, existing: 1 });
    expect(await verifyDav(onprem, cloud, address)).toEqual({ contacts: { missing: [], extra: [] }, events: { missing: [], extra: [] } });
  });

  it('creates the target collections even when they are empty', async () => {
    const address = await newUser(0, 0);
    const result = await createDavCopier().copyDav(onprem, cloud, address);
    expect(result).toEqual({ contacts: { source: 0, copied: 0, existing: 0 }, events: { source: 0, copied: 0, existing: 0 }, badItems: [] });
    const auth = `Basic ${Buffer.from(`${cloud.user}:${cloud.password}`).toString('base64')}`;
    for (const collection of ['contacts', 'calendar']) {
      const response = await fetch(`${cloud.url.replace(/\/$/, '')}/${address}/${collection}/`, {
        method: 'PROPFIND',
        headers: { authorization: auth, depth: '0' },
      });
      expect(response.status).toBe(207);
    }
  });

  it('reports bad credentials as AUTH_FAILED and a dead server as a retryable CONNECTION_FAILED', async () => {
    const address = await newUser(1, 0);
    const secret = `wrong-${randomUUID()}`;
    const denied = await errorOf(createDavCopier().copyDav({ ...onprem, password: secret }, cloud, address));
    expect(denied).toMatchObject({ code: 'AUTH_FAILED' });
    expect((denied as Error).message).not.toContain(secret);
    expect(await errorOf(countDav({ ...cloud, url: 'http://127.0.0.1:1/' }, address))).toMatchObject({
      code: 'CONNECTION_FAILED',
      permanent: false,
    });
  });
});

describe('lab seed', () => {
  it('removes a user while Radicale is reading and caching their collections', async () => {
    for (let round = 0; round < 3; round++) {
      const address = await newUser(30, 30);
      // readers make Radicale write its item cache into the collections during the removal
      const readers = Array.from({ length: 4 }, () => countDav(onprem, address).catch(() => undefined));
      await removeOrgUser(info, address);
      await Promise.all(readers);
      created.splice(created.indexOf(address), 1);
    }
  });
});
