/**
 * Worker SIGKILLs, each fault on its own task queue, organisation and small
 * mailboxes, side by side (a kill on one queue touches no other): kills at
 * seeded moments of the copy; two workers sharing a queue with the one running
 * the copy killed; and one kill each during provisioning (after
 * convertToMailbox, before setTargetAddress has completed), the
 * contacts/calendar copy, the sending of a report and Complete Migration.
 * FAULT_SEED replays the moments. Each row is verified on its own mailboxes.
 */
import { Rng } from '../../lab/seed/rng';
import { readLabInfo, type LabInfo } from '../../lab/info';
import { startLabServer, stopLabServer } from '../../lab/control';
import { startImapRelay } from '../../lab/relays/imap';
import type { VerifyOptions } from '../../lab/verify';
import { labOrganisation } from '../helpers/backbone';
import { createSourceDirectory } from '../../connectors/directory';
import { completeMigration } from '../../client/finish';
import {
  batchStatusQuery,
  batchWorkflowId,
  finalMailWorkflowId,
  mailboxWorkflowId,
  recordQuery,
  recordWorkflowId,
  reportMailWorkflowId,
  type ReportKind,
} from '../../workflows/definitions';
import { readSinkMessages } from '../helpers/smtpSink';
import {
  checkRow,
  createFleet,
  expectClean,
  fleetSource,
  smallFleet,
  targetMessages,
  type FleetSpec,
  type FleetUser,
} from './helpers/fleet';
import { finishBatch, startFleetBatch, type Finished } from './helpers/batch';
import { killDuring } from './helpers/kill';
import { mailFigures, recordVerified } from './helpers/results';
import { closeFaultContext, openFaultContext, sleep, waitFor, type FaultContext } from './helpers/suite';

const SEED = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 1e9));
const KILLS = 6;
const contexts: FaultContext[] = [];
afterAll(() => Promise.all(contexts.map((c) => closeFaultContext(c))));
beforeAll(() => console.log(`worker-kills: FAULT_SEED=${SEED}`));

async function scenario(
  name: string,
  spec: FleetSpec,
  maxConcurrent: number,
  workers = 1,
  env: NodeJS.ProcessEnv = {},
  prepare: (ctx: FaultContext, fleet: FleetUser[]) => Promise<void> = async () => undefined,
) {
  const ctx = await openFaultContext(name, env);
  contexts.push(ctx);
  const fleet = await createFleet(ctx.users, name, spec);
  await prepare(ctx, fleet);
  for (let i = 0; i < workers; i++) await ctx.pool.start();
  const org = await labOrganisation(ctx.session, `faults-${name}`, maxConcurrent);
  const batch = await startFleetBatch(ctx.session, org, fleetSource(ctx.session, org, fleet));
  const mailboxIds = () => fleet.map((u) => mailboxWorkflowId(org, u.address));
  return { ctx, fleet, org, batch, mailboxIds };
}

async function record(
  fault: string,
  injectedHow: string,
  injected: number,
  ctx: FaultContext,
  fleet: FleetUser[],
  finished: Finished,
  notes: string[],
  extra: () => void = () => undefined,
  verifyOptions: VerifyOptions = {},
) {
  const check = await checkRow(ctx.info, fleet, finished.results, {}, verifyOptions);
  await recordVerified(
    {
      fault,
      injected,
      injectedHow,
      seed: SEED,
      mail: mailFigures(check.batchesFinished, check.v),
      notes: [...notes, `resumes: ${finished.resumes}`, ...check.v.findings.slice(0, 20), ...check.v.davProblems, ...check.mismatches],
    },
    () => {
      expect(injected).toBeGreaterThan(0);
      expect(finished.results.at(-1)!.phase).toBe('completed');
      expectClean(check);
      extra();
    },
  );
}

/**
 * Per mailbox, the copyMail retries (attempt > 1) the workers logged, and how
 * many of them started from a checkpoint: identity matching alone keeps a
 * retry that ignored its checkpoint from sending messages twice, so only this
 * shows that the copy resumed where its last heartbeat left it.
 */
function copyRetries(pool: FaultContext['pool'], addresses: string[]): Map<string, { retries: number; resumed: number }> {
  const out = new Map(addresses.map((a) => [a, { retries: 0, resumed: 0 }]));
  for (const line of pool.output().split('\n')) {
    if (!line.includes('"mail copy starting"')) continue;
    const entry = JSON.parse(line) as { mailbox?: string; attempt?: number; resumed?: boolean };
    const counts = out.get(entry.mailbox ?? '');
    if (!counts || (entry.attempt ?? 1) < 2) continue;
    counts.retries++;
    if (entry.resumed) counts.resumed++;
  }
  return out;
}

/** Each mailbox whose copy was killed after it had heartbeated a checkpoint resumed from one at least once. */
function checkResumes(ctx: FaultContext, checkpointed: Set<string>, addresses: string[], notes: string[]): () => void {
  const retries = copyRetries(ctx.pool, addresses);
  const resumed = [...retries.values()].reduce((n, r) => n + r.resumed, 0);
  const all = [...retries.values()].reduce((n, r) => n + r.retries, 0);
  notes.push(
    `copyMail retries: ${all}, ${resumed} of them resumed from a checkpoint (worker log); mailboxes killed with a checkpoint heartbeated: ${checkpointed.size}`,
  );
  return () => {
    expect(checkpointed.size).toBeGreaterThan(0);
    for (const address of checkpointed) expect([address, retries.get(address)!.resumed > 0]).toEqual([address, true]);
  };
}

/** SIGKILLs the worker at `kills` seeded shares of the copy; counts the kills that ended a worker while a copy ran on it. */
async function seededKills(
  ctx: FaultContext,
  fleet: FleetUser[],
  org: string,
  batch: number,
  mailboxIds: () => string[],
  kills: number,
  label: string,
) {
  const rng = new Rng(`${label}/${SEED}`);
  const points = Array.from({ length: kills }, () => 0.05 + rng.next() * 0.85).sort((a, b) => a - b);
  const total = fleet.reduce((n, u) => n + u.messages, 0);
  const handle = ctx.session.client.workflow.getHandle(batchWorkflowId(org, batch));
  const log: string[] = [];
  /** mailboxes whose pending copyMail had heartbeated a checkpoint when a kill ended its worker */
  const checkpointed = new Set<string>();
  let delivered = 0;
  while (points.length) {
    const status = await handle.query(batchStatusQuery);
    if (['completed', 'stopped', 'failed'].includes(status.phase)) break;
    const done = await targetMessages(
      ctx.info,
      fleet.map((u) => u.address),
    );
    if (done >= points[0]! * total && done < total) {
      points.shift();
      // a kill counts when it ended the worker while a copy was running on it
      const pendingCopies = async () =>
        (
          await Promise.all(
            mailboxIds().map((id) =>
              ctx.session.client.workflow
                .getHandle(id)
                .describe()
                .catch(() => undefined),
            ),
          )
        ).map((d) => d?.raw.pendingActivities?.find((p) => p.activityType?.name === 'copyMail'));
      const copying = (await pendingCopies()).some(Boolean);
      const killed = await ctx.pool.crashAndReplace();
      if (killed && copying) delivered++;
      // still pending after the kill, with a checkpoint heartbeated: its retry must start from one
      if (killed)
        (await pendingCopies()).forEach((p, i) => {
          if (p?.heartbeatDetails?.payloads?.length) checkpointed.add(fleet[i]!.address);
        });
      log.push(`kill at ${done}/${total}: ${killed ? 'delivered' : 'no worker'}${copying ? ', copyMail pending' : ', no copy pending'}`);
    }
    await sleep(500);
  }
  return { delivered, log, checkpointed };
}

test.concurrent(`worker SIGKILLed at ${KILLS} seeded moments of the copy`, async () => {
  const { ctx, fleet, org, batch, mailboxIds } = await scenario('fk', smallFleet(11, { mailboxes: 3, messagesEach: 700 }), 3);
  const { delivered, log, checkpointed } = await seededKills(ctx, fleet, org, batch, mailboxIds, KILLS, 'worker-kills');
  const finished = await finishBatch(ctx.session, org, batch);
  const resumes = checkResumes(ctx, checkpointed, fleet.map((u) => u.address), log);
  await record(
    'worker SIGKILL mid-copy (seeded)',
    `SIGKILLs that ended the worker while copyMail was pending and the target held less than the source (of ${KILLS} seeded moments)`,
    delivered,
    ctx,
    fleet,
    finished,
    log,
    () => {
      expect(delivered).toBeGreaterThanOrEqual(KILLS / 2);
      resumes();
    },
  );
});

const RELAY_KILLS = 3;
test.concurrent.each([
  {
    // Exchange Online renders appended messages anew: matching the target's bytes then finds nothing, so only the checkpoint and the Message-ID + INTERNALDATE match keep a resumed copy from sending messages again
    prefix: 'fkr',
    rng: 'rewriting-target',
    fault: 'worker SIGKILL mid-copy, target rewriting messages',
    target: 'stores every message rewritten (header re-folded, a header added, Date rewritten)',
    relay: { rewrite: true },
    compare: 'message-id' as const,
  },
  {
    // one APPEND per message: a kill between two of them must not send again what the first ones stored
    prefix: 'fkm',
    rng: 'no-multiappend-target',
    fault: 'worker SIGKILL mid-copy, target without MULTIAPPEND',
    target: 'announces no MULTIAPPEND, so every message is an APPEND of its own',
    relay: { hide: ['MULTIAPPEND'] },
    compare: 'bytes' as const,
  },
])('$fault', async ({ prefix, rng, fault, target, relay: relayOptions, compare }) => {
  const info = readLabInfo();
  const relay = await startImapRelay(info.cloud.imap.host, info.cloud.imap.port, relayOptions);
  try {
    const { ctx, fleet, org, batch, mailboxIds } = await scenario(prefix, smallFleet(17, { mailboxes: 2, messagesEach: 700 }), 2, 1, {
      MAILFERRY_CLOUD_IMAP_PORT: String(relay.port),
    });
    const { delivered, log, checkpointed } = await seededKills(ctx, fleet, org, batch, mailboxIds, RELAY_KILLS, rng);
    const finished = await finishBatch(ctx.session, org, batch);
    const total = fleet.reduce((n, u) => n + u.messages, 0);
    const resumes = checkResumes(ctx, checkpointed, fleet.map((u) => u.address), log);
    await record(
      fault,
      `SIGKILLs that ended the worker while copyMail was pending and the target held less than the source (of ${RELAY_KILLS} seeded moments); the target, behind a relay, ${target}`,
      delivered,
      ctx,
      fleet,
      finished,
      [...log, `the relay counted ${relay.appends} messages appended for ${total} on the source`],
      () => {
        expect(delivered).toBeGreaterThanOrEqual(1);
        resumes();
      },
      { compare },
    );
  } finally {
    await relay.close();
  }
});

test.concurrent('two workers on one queue, the one running the copy SIGKILLed', async () => {
  const { ctx, fleet, org, batch, mailboxIds } = await scenario('f2w', smallFleet(12, { messagesEach: 1200 }), 2, 2);
  const kill = await killDuring(ctx.session, ctx.pool, mailboxIds, 'copyMail', new Rng(`two-workers/${SEED}`), {
    maxDelayMs: 2000,
    timeoutMs: 5 * 60_000,
  });
  const finished = await finishBatch(ctx.session, org, batch);
  await record(
    'two workers, one SIGKILLed',
    "SIGKILLs that ended the worker named as copyMail's worker while that copy was still pending",
    kill.delivered ? 1 : 0,
    ctx,
    fleet,
    finished,
    kill.log,
  );
});

/** An on-premises TargetAddress from before the migration (mail routed through an old relay): the one rollback must put back. */
const oldRelay = (address: string) => `SMTP:${address.split('@')[0]}@old-relay.tailspintoys.com`;

test.concurrent('worker SIGKILLed between convertToMailbox and setTargetAddress', async () => {
  // Each mailbox has a TargetAddress to keep, so setTargetAddress first hands it to the record, then writes: the kill
  // can land between the two, and the record must still give rollback the old value (a mailbox with none has no
  // round trip there, and its write alone is over before a kill could land).
  const { ctx, fleet, org, batch, mailboxIds } = await scenario('fpv', smallFleet(13, { mailboxes: 6, messagesEach: 20 }), 1, 1, {}, async ({ info }, fleet) => {
    const source = createSourceDirectory(info.onprem.ldap);
    try {
      for (const u of fleet) await source.restoreTargetAddress(u.address, oldRelay(u.address));
    } finally {
      await source.close();
    }
  });
  const kill = await killDuring(ctx.session, ctx.pool, mailboxIds, { activity: 'provisionMailbox', step: 'setTargetAddress' }, new Rng(`provisioning/${SEED}`), {
    maxDelayMs: 8,
    timeoutMs: 5 * 60_000,
    scheduledCounts: true,
  });
  const finished = await finishBatch(ctx.session, org, batch);
  const kept = await Promise.all(
    fleet.map(async (u) => (await ctx.session.client.workflow.getHandle(recordWorkflowId(org, u.address)).query(recordQuery)).previousTargetAddress),
  );
  await record(
    'worker SIGKILL between convertToMailbox and setTargetAddress',
    "SIGKILLs that ended the worker while provisionMailbox, its heartbeat at setTargetAddress (convertToMailbox done), was still pending",
    kill.delivered ? 1 : 0,
    ctx,
    fleet,
    finished,
    [...kill.log, `previous TargetAddress kept by the records: ${kept.filter((k, i) => k === oldRelay(fleet[i]!.address)).length} of ${fleet.length}`],
    () => expect(kept).toEqual(fleet.map((u) => oldRelay(u.address))),
  );
});

test.concurrent('worker SIGKILLed during the contacts/calendar copy', async () => {
  const { ctx, fleet, org, batch, mailboxIds } = await scenario(
    'fdav',
    smallFleet(14, { mailboxes: 4, messagesEach: 20, contacts: 40, events: 30 }),
    1,
  );
  const kill = await killDuring(ctx.session, ctx.pool, mailboxIds, 'copyContactsAndCalendars', new Rng(`dav/${SEED}`), {
    maxDelayMs: 60,
    timeoutMs: 5 * 60_000,
  });
  const finished = await finishBatch(ctx.session, org, batch);
  await record(
    'worker SIGKILL during contacts/calendar copy',
    'SIGKILLs that ended the worker while copyContactsAndCalendars was still pending',
    kill.delivered ? 1 : 0,
    ctx,
    fleet,
    finished,
    kill.log,
  );
});

/**
 * Holds the lab's SMTP sink down while `during` runs: a report e-mail is then retried (its sendReportMail
 * pending) long enough for a kill to land on it, and nothing is delivered before the kill. Rows that run
 * side by side share one outage: the first stops the sink, the last starts it again.
 */
let smtpHolders = 0;
async function smtpDown<T>(during: () => Promise<T>): Promise<T> {
  if (smtpHolders++ === 0) await stopLabServer('smtp');
  try {
    return await during();
  } finally {
    if (--smtpHolders === 0) await startLabServer('smtp');
  }
}

/** Each report e-mail whose Message-ID names `prefix` reached the sink exactly once (to every recipient of it). */
async function deliveredOnce(info: LabInfo, prefix: string, kinds: string[]): Promise<Record<string, number>> {
  const copies = await waitFor(
    `the ${kinds.join(' and ')} e-mail(s)`,
    async () => {
      const mails = (await readSinkMessages(info)).filter((m) => m.mail.messageId?.startsWith(`<${prefix}`));
      const counts = Object.fromEntries(kinds.map((k) => [k, mails.filter((m) => m.mail.messageId?.includes(`.${k}@`)).length]));
      return kinds.every((k) => counts[k]! > 0) && counts;
    },
    5 * 60_000,
  );
  // a second copy, if any, would arrive right behind the first
  await sleep(3000);
  const mails = (await readSinkMessages(info)).filter((m) => m.mail.messageId?.startsWith(`<${prefix}`));
  return Object.fromEntries(Object.keys(copies).map((k) => [k, mails.filter((m) => m.mail.messageId?.includes(`.${k}@`)).length]));
}

test.concurrent('worker SIGKILLed while a report is sent', async () => {
  const rng = new Rng(`reports/${SEED}`);
  const kinds: ReportKind[] = ['mailboxesReady', 'migrationComplete'];
  const { scene, kill } = await smtpDown(async () => {
    const scene = await scenario('frep', smallFleet(15, { messagesEach: 20 }), 2);
    const mails = () => kinds.map((k) => reportMailWorkflowId(scene.org, scene.batch, k));
    return {
      scene,
      kill: await killDuring(scene.ctx.session, scene.ctx.pool, mails, 'sendReportMail', rng, { maxDelayMs: 10, timeoutMs: 5 * 60_000 }),
    };
  });
  const { ctx, fleet, org, batch } = scene;
  const finished = await finishBatch(ctx.session, org, batch);
  const sent = await deliveredOnce(ctx.info, `${org}.batch-${batch}.`, kinds);
  const reports = finished.results.flatMap((r) => r.reports);
  await record(
    'worker SIGKILL while reports are sent',
    'SIGKILLs that ended the worker while a report e-mail (sendReportMail) was still pending; the SMTP sink was down meanwhile, so the e-mail was being retried',
    kill.delivered ? 1 : 0,
    ctx,
    fleet,
    finished,
    [...kill.log, `e-mails received per report: ${JSON.stringify(sent)}`],
    () => {
      expect(reports.some((r) => r.endsWith('MailboxesReady.csv'))).toBe(true);
      expect(reports.some((r) => r.endsWith('MigrationComplete.csv'))).toBe(true);
      expect(sent).toEqual({ mailboxesReady: 1, migrationComplete: 1 });
    },
  );
});

test.concurrent('worker SIGKILLed during Complete Migration', async () => {
  const { ctx, fleet, org, batch } = await scenario('fcm', smallFleet(16, { messagesEach: 20 }), 2);
  const finished = await finishBatch(ctx.session, org, batch);
  // Complete Migration writes its report, then waits for the final e-mail, and only then cleans up: the kill lands in that wait
  const { kill, completing } = await smtpDown(async () => {
    const completing = completeMigration(ctx.session, org, 'faults');
    completing.catch(() => undefined); // awaited below; a rejection must not go unhandled meanwhile
    const kill = await killDuring(ctx.session, ctx.pool, () => [finalMailWorkflowId(org)], 'sendReportMail', new Rng(`complete/${SEED}`), {
      maxDelayMs: 10,
      timeoutMs: 3 * 60_000,
    });
    return { kill, completing };
  });
  const result = await completing;
  const sent = await deliveredOnce(ctx.info, `${org}.batch-final.`, ['migrationCompleted']);
  await record(
    'worker SIGKILL during Complete Migration',
    'SIGKILLs that ended the worker while Complete Migration waited on its final e-mail (sendReportMail pending, the SMTP sink down), after the final report and before the clean-up',
    kill.delivered ? 1 : 0,
    ctx,
    fleet,
    finished,
    [
      ...kill.log,
      `Complete Migration: ${result.mailboxes} mailboxes, ${result.batchRecordsDeleted} batch records deleted, ${result.reports.length} reports; final e-mails received: ${sent.migrationCompleted}`,
    ],
    () => {
      expect(result.mailboxes).toBeGreaterThanOrEqual(fleet.length);
      expect(result.reports.length).toBeGreaterThan(0);
      expect(sent).toEqual({ migrationCompleted: 1 });
    },
  );
});
