/**
 * mailferry on its production shape: a Temporal server on PostgreSQL with SQL
 * visibility (scripts/cluster-up.sh, the configuration docker-compose.yml runs)
 * and three worker processes on one task queue. During one batch, at seeded
 * moments (CLUSTER_SEED replays a run): a worker running a mail copy is
 * SIGKILLed, the Temporal server is SIGKILLed and started again, PostgreSQL is
 * crashed (immediate stop) and started again. The batch must complete with
 * every message verified once, and after the whole cluster is stopped and
 * started again its history must read back from the database.
 */
import { Rng } from '../../lab/seed/rng';
import { readLabInfo } from '../../lab/info';
import { labOrganisation, testSession, TestUsers } from '../helpers/backbone';
import { batchStatusQuery, batchWorkflowId, mailboxWorkflowId, type BatchResult } from '../../workflows/definitions';
import { createFleet, fleetSource, reportMismatches, targetMessages, verifyFleet } from '../faults/helpers/fleet';
import { finishBatch, startFleetBatch } from '../faults/helpers/batch';
import { sleep, waitFor } from '../faults/helpers/suite';
import type { Session } from '../../client/connection';
import { clusterDown, clusterStateDir, clusterUp, crashPostgres, Fleet, killTemporalServer, workersCopying } from './helpers';

const SEED = Number(process.env.CLUSTER_SEED ?? Math.floor(Math.random() * 1e9));
const SPEC = { mailboxes: 4, messagesEach: Number(process.env.CLUSTER_MESSAGES_EACH ?? 1200), large: 2, seed: 11 };

const info = readLabInfo();
const users = new TestUsers(info);
const fleet = new Fleet();
let session: Session;

beforeAll(async () => {
  clusterStateDir(); // refuses to run against anything but the suite's own cluster
  session = await testSession();
});
afterAll(async () => {
  await fleet.stopAll();
  await users.cleanup();
  await session?.close();
});

/** the fractions of the batch's messages at which each fault strikes, in order */
function faultPoints(seed: number) {
  const rng = new Rng(`cluster/${seed}`);
  return { worker: 0.1 + rng.next() * 0.2, temporal: 0.35 + rng.next() * 0.15, postgres: 0.6 + rng.next() * 0.15, pick: rng.next() };
}

test(`a batch on three workers survives a worker, Temporal server and PostgreSQL crash (CLUSTER_SEED=${SEED})`, async () => {
  const points = faultPoints(SEED);
  console.log(
    `cluster: CLUSTER_SEED=${SEED}; faults at ${[points.worker, points.temporal, points.postgres].map((p) => `${Math.round(p * 100)} %`).join(', ')} of the messages`,
  );
  const mailboxes = await createFleet(users, 'cl', SPEC);
  const addresses = mailboxes.map((u) => u.address);
  const total = mailboxes.reduce((n, u) => n + u.messages, 0);
  await fleet.start(3);
  const org = await labOrganisation(session, 'cluster', 3);
  const started = Date.now();
  const batch = await startFleetBatch(session, org, fleetSource(session, org, mailboxes));
  const handle = session.client.workflow.getHandle(batchWorkflowId(org, batch));
  const progress = () => targetMessages(info, addresses);
  const atProgress = (fraction: number) =>
    waitFor(
      `${Math.round(fraction * 100)} % copied`,
      async () => (await progress()) >= fraction * total && (await handle.query(batchStatusQuery)),
      10 * 60_000,
      500,
    );
  const log: string[] = [];

  // 1. a worker that is copying mail dies; a replacement joins, so three serve the rest
  await atProgress(points.worker);
  const copying = await waitFor(
    'a worker running a mail copy',
    () =>
      workersCopying(
        session.client,
        addresses.map((a) => mailboxWorkflowId(org, a)),
        fleet,
      ).then((w) => w.length > 0 && w),
    60_000,
    200,
  );
  const victim = copying[Math.floor(points.pick * copying.length)];
  log.push(`worker pid ${victim.child.pid} (one of ${copying.length} copying) SIGKILLed at ${await progress()} / ${total}`);
  await fleet.kill(victim);
  await fleet.start(1);

  // 2. the Temporal server process dies and is started again on its database
  await atProgress(points.temporal);
  const serverPid = await killTemporalServer();
  log.push(`Temporal server pid ${serverPid} SIGKILLed at ${await progress()} / ${total}`);
  await sleep(3000);
  clusterUp();

  // 3. PostgreSQL crashes under the running server and comes back
  await atProgress(points.postgres);
  crashPostgres();
  log.push(`PostgreSQL stopped in immediate mode at ${await progress()} / ${total}`);
  await sleep(5000);
  clusterUp();

  const finished = await finishBatch(session, org, batch);
  const seconds = (Date.now() - started) / 1000;
  log.push(`batch finished in ${seconds.toFixed(1)} s (${total} messages, resumes: ${finished.resumes})`);
  console.log(`cluster: ${log.join('; ')}`);
  const last = finished.results.at(-1)!;
  expect(last.phase).toBe('completed');

  const v = await verifyFleet(info, mailboxes);
  expect(v.findings).toEqual([]);
  expect({ lost: v.lost, duplicated: v.duplicated, different: v.different }).toEqual({ lost: 0, duplicated: 0, different: 0 });
  expect(v.messagesVerified).toBe(total);
  expect(v.davProblems).toEqual([]);
  expect(v.missingTargetAddress).toEqual([]);
  expect(
    reportMismatches(
      finished.results.map((r) => r.reports),
      v.targetMessages,
    ),
  ).toEqual([]);

  // 4. the whole cluster stops (server, then database) and starts again: the batch's history is read back from PostgreSQL
  await fleet.stopAll();
  await session.close();
  clusterDown();
  clusterUp();
  session = await testSession();
  const reread = (await session.client.workflow.getHandle(batchWorkflowId(org, batch)).result()) as BatchResult;
  expect({ completed: reread.completed, failed: reread.failed, phase: reread.phase }).toEqual({
    completed: finished.results[0].completed,
    failed: finished.results[0].failed,
    phase: finished.results[0].phase,
  });
  const history = await session.client.workflow.getHandle(batchWorkflowId(org, batch)).fetchHistory();
  expect(history.events?.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
  // SQL visibility answers the SRE's query after the restart: every mailbox's runs, by search attribute
  const listed = new Set<string>();
  for await (const wf of session.client.workflow.list({ query: `MailferryOrg = '${org}' AND MailferryBatch = ${batch}` }))
    listed.add(wf.workflowId);
  for (const a of addresses) expect(listed).toContain(mailboxWorkflowId(org, a));
  for (const a of addresses) {
    const h = await session.client.workflow.getHandle(mailboxWorkflowId(org, a)).fetchHistory();
    expect(h.events?.length).toBeGreaterThan(0);
  }
  console.log(
    `cluster: after a full restart, batch ${batch} read back (${history.events?.length} events, ${listed.size} runs listed by MailferryOrg/MailferryBatch)`,
  );
});
