/**
 * Server faults against one big batch, one after another as its copy moves on:
 * the target LDAP (slapd) stopped during provisioning, the target IMAP
 * (cloud Dovecot) stopped for 30 s mid-copy, the cloud Dovecot frozen with
 * SIGSTOP for longer than the copy's heartbeat timeout (a network cut), the
 * Temporal dev server SIGKILLed and started again on its dev.db, and the
 * source changing under the copy (new messages, one deleted), picked up by a
 * delta pass (a `sync` batch). Then nothing may be lost or copied twice.
 */
import { randomBytes } from 'node:crypto';
import { labEndpoints } from '../../lab/verify';
import { pauseLabServer, resumeLabServer, startLabServer, stopLabServer } from '../../lab/control';
import { closeImap, openImap } from '../../connectors/mail/connect';
import { labOrganisation } from '../helpers/backbone';
import { appendMessages, rawMessage } from '../helpers/imap';
import { batchStatusQuery, batchWorkflowId, type BatchStatus } from '../../workflows/definitions';
import { createFleet, fleetSource, reportMismatches, targetMessages, verifyFleet, type FleetUser } from './helpers/fleet';
import { finishBatch, startFleetBatch } from './helpers/batch';
import { recordFault, type FaultResult } from './helpers/results';
import { killTemporal, startTemporal } from './helpers/temporal';
import { closeFaultContext, openFaultContext, sleep, waitFor, type FaultContext } from './helpers/suite';

const HEARTBEAT_TIMEOUT_S = 30;

let ctx: FaultContext;
beforeAll(async () => {
  ctx = await openFaultContext('servers');
});
afterAll(async () => {
  // never leave a server stopped or frozen behind
  for (const name of ['dovecot-cloud', 'slapd'] as const) {
    try {
      resumeLabServer(name);
    } catch {
      await startLabServer(name).catch(() => undefined);
    }
  }
  await closeFaultContext(ctx);
});

/** Deletes one INBOX message on the source; returns its subject. */
async function deleteOneSourceMessage(user: FleetUser): Promise<string> {
  const client = await openImap(labEndpoints(ctx.info, user.address).source);
  try {
    await client.mailboxOpen('INBOX');
    const msg = await client.fetchOne('3', { uid: true, envelope: true });
    if (!msg) throw new Error(`${user.address} has no third INBOX message`);
    await client.messageDelete(String(msg.uid), { uid: true });
    return msg.envelope?.subject ?? '';
  } finally {
    await closeImap(client);
  }
}

test('LDAP stop, IMAP stop, network cut, Temporal kill and source changes during one batch lose and duplicate nothing', async () => {
  const { info, session, pool, users } = ctx;
  const fleet = await createFleet(users, 'fs');
  const addresses = fleet.map((u) => u.address);
  const total = fleet.reduce((n, u) => n + u.messages, 0);
  await pool.start();
  const org = await labOrganisation(session, 'faults-servers', 3);
  const batch = await startFleetBatch(session, org, fleetSource(session, org, fleet));
  const handle = session.client.workflow.getHandle(batchWorkflowId(org, batch));
  const status = () => handle.query(batchStatusQuery);
  const progress = () => targetMessages(info, addresses);
  const atProgress = (fraction: number) => waitFor(`${Math.round(fraction * 100)} % copied`, async () => (await progress()) >= fraction * total, 20 * 60_000, 2000);
  const notes: Record<string, string[]> = { ldap: [], imap: [], cut: [], temporal: [], source: [] };

  // 1. target LDAP down while rows are being provisioned
  const provisioning = await waitFor('a row provisioning', async () => {
    const s: BatchStatus = await status();
    return s.rows.some((r) => r.state === 'provisioning') && s;
  }, 5 * 60_000, 100);
  await stopLabServer('slapd');
  notes.ldap.push(`slapd stopped with ${provisioning.rows.filter((r) => r.state === 'provisioning').length} row(s) provisioning, for 15 s`);
  await sleep(15_000);
  await startLabServer('slapd');

  // 2. target IMAP stopped for 30 s mid-copy
  await atProgress(0.2);
  const before = await progress();
  await stopLabServer('dovecot-cloud');
  notes.imap.push(`cloud Dovecot stopped for 30 s at ${before} / ${total} messages`);
  await sleep(30_000);
  await startLabServer('dovecot-cloud');

  // 3. network cut: frozen longer than the heartbeat timeout, then thawed
  await atProgress(0.4);
  pauseLabServer('dovecot-cloud');
  await sleep((HEARTBEAT_TIMEOUT_S + 10) * 1000);
  resumeLabServer('dovecot-cloud');
  notes.cut.push(`cloud Dovecot and its sessions SIGSTOPped for ${HEARTBEAT_TIMEOUT_S + 10} s, then SIGCONT`);

  // 4. Temporal dev server SIGKILLed and started again on its database file
  await atProgress(0.55);
  await killTemporal();
  await sleep(3000);
  startTemporal();
  notes.temporal.push(`SIGKILL at ${await progress()} / ${total}, restarted on dev.db after 3 s`);

  // 5. the source changes under the copy: new mail arrives in the last mailbox, one message goes from the first
  await atProgress(0.65);
  const tag = randomBytes(3).toString('hex');
  const arrivals = Array.from({ length: 5 }, (_, i) => ({ raw: rawMessage({ subject: `late arrival ${tag} ${i}` }), date: new Date() }));
  await appendMessages(labEndpoints(info, fleet.at(-1)!.address).source, 'INBOX', arrivals);
  const deleted = await deleteOneSourceMessage(fleet[0]!);
  notes.source.push(`5 messages appended to ${fleet.at(-1)!.address}, "${deleted}" deleted from ${fleet[0]!.address}`);

  const first = await finishBatch(session, org, batch);
  expect(first.results.at(-1)!.phase).toBe('completed');
  // the delta pass: a sync batch over the migrated rows copies only what is new
  const sync = await startFleetBatch(session, org, { kind: 'sync', batch });
  const delta = await finishBatch(session, org, sync);
  expect(delta.results.at(-1)!.phase).toBe('completed');

  const v = await verifyFleet(info, fleet, { [fleet[0]!.address]: [deleted] });
  const mismatches = reportMismatches(delta.results.map((r) => r.reports), v.targetMessages);
  const finished = [...first.results, ...delta.results].filter((r) => r.phase === 'completed').length;
  const base: Omit<FaultResult, 'fault' | 'notes'> = {
    injected: 1,
    batchesFinished: finished,
    messagesVerified: v.messagesVerified,
    lost: v.lost,
    duplicated: v.duplicated,
    different: v.different,
    contactsEventsVerified: v.contactsEventsVerified,
  };
  const shared = [`resumes: ${first.resumes + delta.resumes}`, ...v.findings.slice(0, 20), ...v.davProblems, ...mismatches];
  recordFault({ ...base, fault: 'target LDAP stopped mid-provisioning', notes: [...notes.ldap, ...shared] });
  recordFault({ ...base, fault: 'target IMAP stopped 30 s mid-copy', notes: [...notes.imap, ...shared] });
  recordFault({ ...base, fault: 'network cut (SIGSTOP > heartbeat)', notes: [...notes.cut, ...shared] });
  recordFault({ ...base, fault: 'Temporal server SIGKILL + restart', notes: [...notes.temporal, ...shared] });
  recordFault({ ...base, injected: 2, fault: 'source changed + delta pass', notes: [...notes.source, ...shared] });

  expect(v.findings).toEqual([]);
  expect(v.lost + v.duplicated + v.different).toBe(0);
  expect(v.messagesVerified).toBeGreaterThanOrEqual(10_000);
  expect(v.davProblems).toEqual([]);
  expect(v.missingTargetAddress).toEqual([]);
  expect(mismatches).toEqual([]);
});
