/**
 * Server faults, one after another, each against a small batch of its own and
 * verified on its own mailboxes before the next fault starts: the target LDAP
 * (slapd) stopped during provisioning, the target IMAP (cloud Dovecot) stopped
 * mid-copy, refusing logins for a while, and frozen with SIGSTOP for longer
 * than the copy's heartbeat timeout (a network cut), the Temporal dev server
 * SIGKILLed and started again on its dev.db, and the source changing under the
 * copy (new messages, one deleted, flags changed) picked up by a delta pass,
 * and the target's quota full in mid-copy (the lab's cloud Dovecot counts
 * quota under MAILFERRY_LAB_CLOUD_QUOTA=1, set by scripts/test-faults.sh).
 * Every moment and duration is seeded (FAULT_SEED replays it); `injected` is
 * what was really delivered (seconds down as measured, logins refused as
 * logged by Dovecot).
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labEndpoints } from '../../lab/verify';
import { MAIL_GID, MAIL_UID, paths } from '../../lab/config';
import { cloudQuotaFile } from '../../lab/servers/dovecot';
import { pauseLabServer, resumeLabServer, startLabServer, stopLabServer } from '../../lab/control';
import { Rng } from '../../lab/seed/rng';
import { closeImap, openImap } from '../../connectors/mail/connect';
import { labOrganisation } from '../helpers/backbone';
import { appendMessages, rawMessage } from '../helpers/imap';
import { batchStatusQuery, batchWorkflowId, type BatchResult } from '../../workflows/definitions';
import { checkRow, createFleet, expectClean, fleetSource, smallFleet, targetMessages, type FleetSpec, type FleetUser } from './helpers/fleet';
import { finishBatch, startFleetBatch } from './helpers/batch';
import { mailFigures, recordVerified } from './helpers/results';
import { killTemporal, startTemporal } from './helpers/temporal';
import { closeFaultContext, openFaultContext, sleep, waitFor, type FaultContext } from './helpers/suite';

const SEED = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 1e9));
const HEARTBEAT_TIMEOUT_S = 30;

let ctx: FaultContext;
beforeAll(async () => {
  console.log(`server-faults: FAULT_SEED=${SEED}`);
  ctx = await openFaultContext('servers');
  await ctx.pool.start();
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

/** A fault's own batch, with a seeded moment of its copy (a fraction of the messages) and a seeded duration. */
async function faultBatch(name: string, spec: FleetSpec, maxConcurrent = 2, beforeStart: (fleet: FleetUser[], rng: Rng) => void = () => undefined) {
  const rng = new Rng(`server-faults/${name}/${SEED}`);
  const fleet = await createFleet(ctx.users, name, spec);
  beforeStart(fleet, rng);
  const total = fleet.reduce((n, u) => n + u.messages, 0);
  const org = await labOrganisation(ctx.session, `faults-${name}`, maxConcurrent);
  const batch = await startFleetBatch(ctx.session, org, fleetSource(ctx.session, org, fleet));
  const handle = ctx.session.client.workflow.getHandle(batchWorkflowId(org, batch));
  const progress = () => targetMessages(ctx.info, fleet.map((u) => u.address));
  const fraction = 0.1 + rng.next() * 0.5;
  /** resolves with the target's message count once the copy passed the seeded fraction, still short of the end */
  const midCopy = () => waitFor(`${Math.round(fraction * 100)} % copied`, async () => {
    const done = await progress();
    return done >= fraction * total && done;
  }, 10 * 60_000, 200);
  return { rng, fleet, total, org, batch, handle, progress, midCopy, fraction };
}

async function mailRow(fault: string, injectedHow: string, injected: number, fleet: FleetUser[], results: BatchResult[], notes: string[], removed: Record<string, string[]> = {}, extra: () => void = () => undefined) {
  const check = await checkRow(ctx.info, fleet, results, removed);
  await recordVerified(
    { fault, injected, injectedHow, seed: SEED, mail: mailFigures(check.batchesFinished, check.v), notes: [...notes, ...check.v.findings.slice(0, 20), ...check.v.davProblems, ...check.mismatches] },
    () => {
      expect(injected).toBeGreaterThan(0);
      expect(results.at(-1)!.phase).toBe('completed');
      expectClean(check);
      extra();
    },
  );
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

test('target LDAP stopped while rows are provisioning', async () => {
  const b = await faultBatch('fsl', smallFleet(21, { mailboxes: 3, messagesEach: 30 }), 1);
  await waitFor('a row provisioning', async () => (await b.handle.query(batchStatusQuery)).rows.some((r) => r.state === 'provisioning'), 5 * 60_000, 50);
  const downFor = b.rng.int(5_000, 10_000);
  await stopLabServer('slapd');
  const down = Date.now();
  const during = (await b.handle.query(batchStatusQuery)).rows.filter((r) => r.state === 'provisioning').length;
  await sleep(downFor);
  await startLabServer('slapd');
  const downS = seconds(Date.now() - down);
  const first = await finishBatch(ctx.session, b.org, b.batch);
  await mailRow('target LDAP stopped mid-provisioning', `seconds slapd was really down (stopped → answering again) with ${during} row(s) provisioning`, during > 0 ? downS : 0, b.fleet, first.results, [`slapd down ${downS} s (seeded ${downFor} ms) with ${during} row(s) provisioning; resumes: ${first.resumes}`]);
});

test('target IMAP stopped mid-copy', async () => {
  const b = await faultBatch('fsi', smallFleet(22, { messagesEach: 2000 }));
  const at = await b.midCopy();
  const downFor = b.rng.int(5_000, 12_000);
  await stopLabServer('dovecot-cloud');
  const down = Date.now();
  await sleep(downFor);
  await startLabServer('dovecot-cloud');
  const downS = seconds(Date.now() - down);
  const first = await finishBatch(ctx.session, b.org, b.batch);
  await mailRow('target IMAP stopped mid-copy', 'seconds the cloud Dovecot was really down (stopped → answering again) while the target held less than the source', at < b.total ? downS : 0, b.fleet, first.results, [`cloud Dovecot down ${downS} s at ${at}/${b.total} messages; resumes: ${first.resumes}`]);
});

/** drops the cloud Dovecot's sessions of `who` ('*': everyone): the next command needs a new login */
const kick = (who: string) => spawnSync('/usr/bin/doveadm', ['-c', paths.dovecot('cloud').conf, 'kick', who], { encoding: 'utf8' });

test('target IMAP refusing logins for a while', async () => {
  const b = await faultBatch('fsr', smallFleet(23, { messagesEach: 2000 }));
  const p = paths.dovecot('cloud');
  const saved = { masters: readFileSync(p.masters), users: readFileSync(p.users) };
  const logStart = statSync(p.log).size;
  const at = await b.midCopy();
  const refuseFor = b.rng.int(5_000, 12_000);
  // Dovecot re-reads a changed passwd-file: the admin's password no longer matches, so every new login is refused
  const wrong = (buf: Buffer) => buf.toString('utf8').replace(/\{PLAIN\}[^:]*/g, '{PLAIN}refused-on-purpose');
  writeFileSync(p.masters, wrong(saved.masters));
  writeFileSync(p.users, wrong(saved.users));
  // open sessions would carry on: drop them, so the copier must log in again
  const kicked = kick('*');
  await sleep(refuseFor);
  writeFileSync(p.masters, saved.masters);
  writeFileSync(p.users, saved.users);
  const refused = readFileSync(p.log).subarray(logStart).toString('utf8').split('\n').filter((l) => /imap-login: .*auth failed/i.test(l)).length;
  const first = await finishBatch(ctx.session, b.org, b.batch);
  await mailRow('target IMAP refusing logins', 'IMAP logins the cloud Dovecot logged as "auth failed" while its passwords were wrong (mid-copy)', at < b.total ? refused : 0, b.fleet, first.results, [
    `logins refused for ${seconds(refuseFor)} s from ${at}/${b.total} messages; doveadm kick: ${(kicked.stdout || kicked.stderr).trim().split('\n')[0] ?? ''}; ${refused} refused logins logged; resumes: ${first.resumes}`,
  ]);
});

test('target quota full mid-copy, then raised', async () => {
  const rawlogs = join(paths.dovecot('cloud').dir, 'rawlog');
  let limit = 0;
  let rawlog = '';
  // the quota is in place before the copy logs in: the mailbox fills up at a seeded share of its messages
  const b = await faultBatch('fsq', smallFleet(27, { mailboxes: 1, messagesEach: 600 }), 1, ([u], rng) => {
    limit = Math.round(u!.messages * (0.2 + rng.next() * 0.5));
    rawlog = join(rawlogs, u!.address);
    mkdirSync(rawlog, { recursive: true });
    chownSync(rawlog, MAIL_UID, MAIL_GID);
    writeFileSync(cloudQuotaFile(), `${u!.address}:::::::userdb_quota_rule=*:messages=${limit} userdb_rawlog_dir=${rawlog}\n`);
  });
  const refusals = () =>
    readdirSync(rawlog)
      .filter((f) => f.endsWith('.out'))
      .reduce((n, f) => n + readFileSync(join(rawlog, f), 'utf8').split('\n').filter((l) => /^\S+ \S+ NO \[OVERQUOTA\]/.test(l)).length, 0);
  const fullFor = b.rng.int(5_000, 10_000);
  const firstRefusal = await waitFor('an APPEND refused over quota', async () => refusals() > 0, 3 * 60_000, 100).then(
    () => true,
    () => false,
  );
  const full = Date.now();
  const at = await b.progress();
  if (firstRefusal) await sleep(fullFor);
  // raised: Dovecot applies the new rule at the next login, so drop the mailbox's sessions
  writeFileSync(cloudQuotaFile(), '');
  kick(b.fleet[0]!.address);
  const fullS = seconds(Date.now() - full);
  const refused = refusals();
  const first = await finishBatch(ctx.session, b.org, b.batch);
  await mailRow('target quota full mid-copy', 'APPENDs the cloud Dovecot answered NO [OVERQUOTA] (its raw protocol log) before the quota was raised', at < b.total ? refused : 0, b.fleet, first.results, [
    `quota ${limit} of ${b.total} messages (seeded), full at ${at}/${b.total} for ${fullS} s from the first refusal; ${refused} APPENDs refused; resumes: ${first.resumes}`,
  ]);
});

test('network cut: target frozen longer than the heartbeat timeout', async () => {
  const b = await faultBatch('fsn', smallFleet(24, { messagesEach: 2000 }));
  const at = await b.midCopy();
  const frozenFor = (HEARTBEAT_TIMEOUT_S + b.rng.int(3, 10)) * 1000;
  pauseLabServer('dovecot-cloud');
  const frozen = Date.now();
  await sleep(frozenFor);
  resumeLabServer('dovecot-cloud');
  const frozenS = seconds(Date.now() - frozen);
  const first = await finishBatch(ctx.session, b.org, b.batch);
  await mailRow('network cut (SIGSTOP > heartbeat)', `seconds the cloud Dovecot and its sessions were SIGSTOPped (heartbeat timeout ${HEARTBEAT_TIMEOUT_S} s) while the target held less than the source`, at < b.total ? frozenS : 0, b.fleet, first.results, [`frozen ${frozenS} s at ${at}/${b.total} messages; resumes: ${first.resumes}`], {}, () =>
    expect(frozenS).toBeGreaterThan(HEARTBEAT_TIMEOUT_S),
  );
});

test('Temporal server SIGKILLed mid-copy and started again on its dev.db', async () => {
  const b = await faultBatch('fst', smallFleet(25, { messagesEach: 2000 }));
  const at = await b.midCopy();
  await killTemporal();
  const down = Date.now();
  await sleep(b.rng.int(1000, 5000));
  startTemporal();
  const downS = seconds(Date.now() - down);
  const first = await finishBatch(ctx.session, b.org, b.batch);
  await mailRow('Temporal server SIGKILL + restart', 'SIGKILLs after which the suite\'s Temporal server process was gone (mid-copy), then restarted', at < b.total ? 1 : 0, b.fleet, first.results, [`SIGKILL at ${at}/${b.total}, down ${downS} s; resumes: ${first.resumes}`]);
});

test('the source changes under the copy: new mail, a deletion, changed flags; a delta pass follows', async () => {
  const b = await faultBatch('fss', smallFleet(26, { messagesEach: 2000 }));
  const at = await b.midCopy();
  const [first, last] = [b.fleet[0]!, b.fleet.at(-1)!];
  const tag = b.rng.hex(6);
  const changes: string[] = [];
  await appendMessages(labEndpoints(ctx.info, last.address).source, 'INBOX', Array.from({ length: 5 }, (_, i) => ({ raw: rawMessage({ subject: `late arrival ${tag} ${i}` }), date: new Date() })));
  changes.push(`5 messages appended to ${last.address}`);
  const client = await openImap(labEndpoints(ctx.info, first.address).source);
  let deleted = '';
  try {
    const box = await client.mailboxOpen('INBOX');
    const victim = await client.fetchOne(String(b.rng.int(1, Math.max(1, box.exists))), { uid: true, envelope: true });
    if (!victim) throw new Error(`${first.address} has an empty INBOX`);
    deleted = victim.envelope?.subject ?? '';
    await client.messageDelete(String(victim.uid), { uid: true });
    changes.push(`"${deleted}" deleted from ${first.address}`);
    // flags of the newest message (the copy takes it last): read, then flagged
    await client.messageFlagsAdd('*', ['\\Seen', '\\Flagged']);
    changes.push(`\\Seen \\Flagged set on the newest INBOX message of ${first.address}`);
  } finally {
    await closeImap(client);
  }
  const run = await finishBatch(ctx.session, b.org, b.batch);
  // the delta pass: a sync batch over the migrated rows copies only what is new
  const sync = await startFleetBatch(ctx.session, b.org, { kind: 'sync', batch: b.batch });
  const delta = await finishBatch(ctx.session, b.org, sync);
  await mailRow('source changed under the copy + delta pass', 'source changes made mid-copy (appends, deletion, flag change) that the IMAP server accepted', at < b.total ? changes.length : 0, b.fleet, [...run.results, ...delta.results], [`at ${at}/${b.total}: ${changes.join('; ')}`], { [first.address]: [deleted] });
});
