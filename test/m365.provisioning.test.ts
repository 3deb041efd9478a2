/**
 * A batch into the Microsoft 365 lab target, through a real worker process
 * and a real Temporal server: `settings set --target m365` (the worker gets
 * app-only tokens from the lab token endpoint with msal-node; the stand-in
 * checks them with the endpoint's keys), the licence, and the durable wait
 * for the mailbox, which outlives a SIGKILLed worker: the row stays
 * provisioning, the new worker picks the wait up, and the row completes
 * provisioning once the stand-in's delay has passed, licensed once. A user
 * whose msExchMailboxGuid is synced fails the row with that cause and fix.
 */
import { batchStatus } from '../client/batch';
import { applySettings, buildSettings } from '../client/settings';
import { LAB_SKU } from '../client/target';
import { DOMAINS } from '../lab/config';
import { createLabTenant, labUsers, violations } from '../lab/graph/control';
import { mailboxWorkflowId } from '../shared/domain';
import { errorCodes } from '../shared/errors';
import { csvOf, csvSourceOf, runBatch, startWorker, targetAddressOf, uniqueName, waitFor, backboneSuite } from './helpers/backbone';

const PROVISIONING_DELAY_MS = 40_000;

const suite = backboneSuite();

test('the wait for the mailbox survives a worker restart; a synced msExchMailboxGuid fails its row', async () => {
  const { info, session, users } = suite;
  const normal = await users.add('m365-wait', { messages: 2, contacts: 0, events: 0 });
  const guid = await users.add('m365-guid', { messages: 2, contacts: 0, events: 0 });
  const meu = (address: string, exchangeGuidSynced = false) => ({ userPrincipalName: address, mail: address, proxyAddresses: [`SMTP:${address}`], exchangeGuidSynced });
  // the lab token endpoint's tenant: the worker's tokens name it
  const { tenant } = await createLabTenant({
    tenant: info.m365.tenantId,
    provisioningDelayMs: PROVISIONING_DELAY_MS,
    domains: [{ id: DOMAINS.primary, isDefault: true }],
    skus: [{ skuId: LAB_SKU, skuPartNumber: 'ENTERPRISEPACK', servicePlans: [{ servicePlanName: 'EXCHANGE_S_ENTERPRISE' }] }],
    users: [meu(normal.address), meu(guid.address, true)],
  });

  suite.worker = await startWorker();
  const org = uniqueName('m365');
  await applySettings(
    session,
    org,
    buildSettings({ lab: true, target: 'm365', usageLocation: 'US', provisioningTimeout: 30, provisioningPoll: 2, exchangeGuidGrace: 0 }, session, org),
  );
  const { batch } = await runBatch(session, org, csvSourceOf(session, org, csvOf([[normal.address, '', 'False'], [guid.address, '', 'False']])));

  const rowOf = async (address: string) => (await batchStatus(session, org, batch)).rows.find((r) => r.address === address);
  /** what the SRE sees in the Web UI: the mailbox run's step and state */
  const shown = async (address: string) => {
    const attributes = (await session.client.workflow.getHandle(mailboxWorkflowId(org, address)).describe()).searchAttributes;
    return { step: attributes.MailferryStep?.[0], state: attributes.MailferryState?.[0] };
  };
  // licensed, mailbox not there yet: the row waits in convertToMailbox, shown as provisioning
  await waitFor('the licence of the first row', async () => (await labUsers(tenant)).find((u) => u.mail === normal.address && (u.assignedLicenses as unknown[]).length > 0));
  const licensedAt = Date.now();
  await waitFor('the row to show the wait', async () => {
    const now = await shown(normal.address);
    return now.state === 'provisioning' && now.step === 'convertToMailbox';
  });
  await suite.worker.stop('SIGKILL');
  await new Promise((r) => setTimeout(r, 3000));
  suite.worker = await startWorker();
  // the new worker took over while the mailbox was still being created
  expect(Date.now()).toBeLessThan(licensedAt + PROVISIONING_DELAY_MS);
  expect(await shown(normal.address)).toEqual({ step: 'convertToMailbox', state: 'provisioning' });

  // past the provisioning steps (the copy that follows is not this test's: mail and PIM into m365 are wired separately)
  await waitFor('the first row past provisioning', async () => {
    const row = await rowOf(normal.address);
    return row && (row.step === 'copyData' || row.state === 'ready' || row.state === 'completed');
  }, 150_000);
  const failed = await waitFor('the second row to fail', async () => {
    const row = await rowOf(guid.address);
    return row?.state === 'failed' && row;
  });
  expect(failed).toMatchObject({ step: 'convertToMailbox', error: { code: 'EXCHANGE_GUID_SYNCED', fix: errorCodes.EXCHANGE_GUID_SYNCED } });

  await waitFor('TargetAddress of the first row', async () => (await targetAddressOf(info, normal.address))?.toLowerCase().includes(DOMAINS.routing));
  const licensed = (await labUsers(tenant)).find((u) => u.mail === normal.address)!;
  expect(licensed.assignedLicenses).toHaveLength(1);
  expect(licensed.lab.mailboxAt).not.toBeNull();
  expect(await violations(tenant)).toEqual([]);
}, 300_000);
