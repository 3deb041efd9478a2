/**
 * A batch into the Microsoft 365 lab target through a real worker and a real
 * Temporal server, down to contacts and calendars: the row completes, every
 * seeded contact and event is in the Graph stand-in once, meetings are
 * created without their attendees (the stand-in recorded no invitation) and
 * the row's copy totals count them (the Migration Complete report's
 * MeetingsNotInvited).
 */
import { batchStatus } from '../client/batch';
import { applySettings, buildSettings } from '../client/settings';
import { LAB_SKU } from '../client/target';
import { SOURCE_UID } from '../connectors/m365/pim/extendedProperties';
import { DOMAINS } from '../lab/config';
import { createLabTenant, GRAPH_URL, violations } from '../lab/graph/control';
import { csvOf, csvSourceOf, runBatch, startWorker, uniqueName, waitFor, backboneSuite } from './helpers/backbone';

const suite = backboneSuite();

const control = async <T>(path: string): Promise<T> => (await (await fetch(`${GRAPH_URL}/_lab${path}`)).json()) as T;
type Item = { singleValueExtendedProperties?: Array<{ id: string; value: string }>; attendees?: unknown[]; body?: { content?: string } };

test('a batch copies contacts and calendars into Graph once, without invitations', async () => {
  const { info, session, users } = suite;
  const user = await users.add('m365-pim', { messages: 2, contacts: 6, events: 12 });
  const { tenant } = await createLabTenant({
    tenant: info.m365.tenantId,
    domains: [{ id: DOMAINS.primary, isDefault: true }],
    skus: [{ skuId: LAB_SKU, skuPartNumber: 'ENTERPRISEPACK', servicePlans: [{ servicePlanName: 'EXCHANGE_S_ENTERPRISE' }] }],
    users: [{ userPrincipalName: user.address, mail: user.address, proxyAddresses: [`SMTP:${user.address}`] }],
  });
  suite.worker = await startWorker();
  const org = uniqueName('m365p');
  await applySettings(session, org, buildSettings({ lab: true, target: 'm365', usageLocation: 'US', provisioningTimeout: 30, provisioningPoll: 2, exchangeGuidGrace: 0 }, session, org));
  const csv = csvSourceOf(session, org, csvOf([[user.address, '', 'False']]));
  const { batch } = await runBatch(session, org, csv);
  const row = await waitFor('the row to finish', async () => {
    const r = (await batchStatus(session, org, batch)).rows.find((x) => x.address === user.address);
    return r && (r.state === 'completed' || r.state === 'failed') && r;
  }, 240_000);
  console.log(`m365 pim batch row: ${JSON.stringify({ state: row.state, step: row.step, copy: row.copy, error: row.error })}`);
  expect(row.state).toBe('completed');

  const box = await control<{ contactFolders: Array<{ contacts: Item[] }>; calendars: Array<{ events: Item[] }> }>(`/pim/tenants/${tenant}/mailboxes/${encodeURIComponent(user.address)}`);
  const uids = (items: Item[]) => items.map((i) => i.singleValueExtendedProperties?.find((p) => p.id === SOURCE_UID)?.value);
  const contacts = uids(box.contactFolders.flatMap((f) => f.contacts));
  const events = box.calendars.flatMap((c) => c.events);
  expect({ contacts: contacts.length, distinct: new Set(contacts).size }).toEqual({ contacts: 6, distinct: 6 });
  expect({ events: events.length, distinct: new Set(uids(events)).size }).toEqual({ events: 12, distinct: 12 });
  expect(events.filter((e) => (e.attendees ?? []).length > 0)).toEqual([]);
  expect(await control<unknown[]>(`/pim/tenants/${tenant}/invitations`)).toEqual([]);
  const notInvited = events.filter((e) => e.body?.content?.includes('without sending invitations')).length;
  expect(row.copy).toMatchObject({ contactsCopied: 6, eventsCopied: 12, ...(notInvited ? { meetingsNotInvited: notInvited } : {}) });
  expect(await violations(tenant)).toEqual([]);
}, 300_000);
