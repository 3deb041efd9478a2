/**
 * The worker is SIGKILLed at ten or more seeded moments across one big batch
 * (FAULT_SEED replays a run), a new one started each time; then two workers
 * share the task queue and one of them is killed. Nothing may be lost or
 * copied twice.
 */
import { Rng } from '../../lab/seed/rng';
import { labOrganisation } from '../helpers/backbone';
import { batchStatusQuery, batchWorkflowId } from '../../workflows/definitions';
import { createFleet, fleetSource, reportMismatches, targetMessages, verifyFleet } from './helpers/fleet';
import { finishBatch, startFleetBatch } from './helpers/batch';
import { recordFault } from './helpers/results';
import { closeFaultContext, openFaultContext, sleep, type FaultContext } from './helpers/suite';

const SEED = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 1e9));
const KILLS = 10;

let ctx: FaultContext;
beforeAll(async () => {
  ctx = await openFaultContext('kills');
});
afterAll(() => closeFaultContext(ctx));

/** sorted fractions of the batch's messages at which to kill: spread over the whole copy, one during provisioning */
function killPoints(seed: number): number[] {
  const rng = new Rng(`worker-kills/${seed}`);
  const points = [0];
  for (let i = 1; i < KILLS; i++) points.push(0.05 + rng.next() * 0.85);
  return points.sort((a, b) => a - b);
}

test(`worker SIGKILLed at ${KILLS}+ seeded moments (FAULT_SEED=${SEED}), then two workers with one killed`, async () => {
  console.log(`worker-kills: FAULT_SEED=${SEED}`);
  const { info, session, pool, users } = ctx;
  const fleet = await createFleet(users, 'fk');
  const total = fleet.reduce((n, u) => n + u.messages, 0);
  await pool.start();
  const org = await labOrganisation(session, 'faults-kills', 3);
  const batch = await startFleetBatch(session, org, fleetSource(session, org, fleet));
  const handle = session.client.workflow.getHandle(batchWorkflowId(org, batch));

  const points = killPoints(SEED);
  const log: string[] = [];
  while (points.length) {
    const status = await handle.query(batchStatusQuery);
    if (['completed', 'stopped', 'failed'].includes(status.phase)) break;
    const done = status.phase === 'validating' ? -1 : await targetMessages(info, fleet.map((u) => u.address));
    if (done >= points[0] * total) {
      log.push(`kill at ${done}/${total} (${status.phase})`);
      points.shift();
      await pool.crashAndReplace();
    }
    await sleep(1000);
  }
  console.log(`worker-kills: ${log.join('; ')}`);
  const killsSingle = pool.kills;

  // Two workers on the same task queue; the older one (most likely running the copy) dies, the new one takes over.
  const [older] = [...pool.running];
  await pool.start();
  await sleep(5000);
  const stillRunning = (await handle.describe()).status.name === 'RUNNING';
  await pool.kill(older);
  const finished = await finishBatch(session, org, batch);
  const v = await verifyFleet(info, fleet);
  const mismatches = reportMismatches(
    finished.results.map((r) => r.reports),
    v.targetMessages,
  );

  const common = { batchesFinished: finished.results.at(-1)!.phase === 'completed' ? 1 : 0, contactsEventsVerified: v.contactsEventsVerified, different: v.different };
  recordFault({
    fault: 'worker SIGKILL (seeded)',
    injected: killsSingle,
    messagesVerified: v.messagesVerified,
    lost: v.lost,
    duplicated: v.duplicated,
    seed: SEED,
    notes: [...log, `resumes: ${finished.resumes}`, ...v.findings.slice(0, 20), ...mismatches],
    ...common,
  });
  recordFault({
    fault: 'two workers, one SIGKILLed',
    injected: stillRunning ? 1 : 0,
    messagesVerified: v.messagesVerified,
    lost: v.lost,
    duplicated: v.duplicated,
    notes: [stillRunning ? 'killed while the batch ran' : 'the batch had finished before the second worker was killed'],
    ...common,
  });

  expect(killsSingle).toBeGreaterThanOrEqual(KILLS);
  expect(finished.results.at(-1)!.phase).toBe('completed');
  expect(v.findings).toEqual([]);
  expect(v.lost + v.duplicated + v.different).toBe(0);
  expect(v.messagesVerified).toBeGreaterThanOrEqual(10_000);
  expect(v.davProblems).toEqual([]);
  expect(v.missingTargetAddress).toEqual([]);
  expect(mismatches).toEqual([]);
});
