/**
 * A report e-mail's sent mark outlives the attempt that sent it: the attempt
 * heartbeats it the moment the SMTP server took the message, Temporal keeps
 * it, and the retry, on any worker, sends nothing. Here the first attempt
 * really sends to the lab's SMTP sink and then fails (as a worker killed just
 * after the SMTP server's answer would); the retry finds the mark. The worker
 * runs in this process so the attempt can fail at exactly that moment; the
 * retry runs with another reports directory, as on another host.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import pino from 'pino';
import { createReportActivities } from '../activities/reports';
import type { ActivityDeps, Connectors } from '../activities/deps';
import { openSession, type Session } from '../client/connection';
import { createReportMailer } from '../connectors/smtp';
import { readLabInfo, type LabInfo } from '../lab/info';
import { organisationWorkflowId, type PreparedMail } from '../shared/domain';
import { loadWorkerEnv } from '../worker/config';
import { finalMailOfOrganisation } from './fixtures/workflows/finalMail';
import { startFixtureWorker, type FixtureWorker } from './helpers/fixtureWorker';
import { labEnv } from './helpers/backbone';
import { readSinkMessages } from './helpers/smtpSink';

let info: LabInfo;
let session: Session;
let worker: FixtureWorker | undefined;
const taskQueue = `mail-once-${randomBytes(3).toString('hex')}`;
const attempts: { attempt: number; result: { sent: boolean } }[] = [];

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  info = readLabInfo();
  const env = labEnv(info);
  session = await openSession(env);
  const cfg = loadWorkerEnv(env);
  // each attempt its own reports directory, as on two hosts: the mark must come from Temporal, not a worker's disk
  const depsOn = (host: string) =>
    ({
      connectors: {
        mailer: createReportMailer({
          host: cfg.MAILFERRY_SMTP_HOST,
          port: cfg.MAILFERRY_SMTP_PORT,
          secure: cfg.MAILFERRY_SMTP_SECURE,
          user: cfg.MAILFERRY_SMTP_USER,
          password: cfg.MAILFERRY_SMTP_PASSWORD,
          allowPlaintext: cfg.MAILFERRY_SMTP_ALLOW_PLAINTEXT,
        }),
      } as Partial<Connectors> as Connectors,
      reports: { dir: mkdtempSync(join(tmpdir(), `mf-mail-once-${host}-`)), from: 'mailferry@cloud.test' },
      logger: pino({ level: 'warn' }),
    }) as Partial<ActivityDeps> as ActivityDeps;
  const hosts = [createReportActivities(depsOn('a')), createReportActivities(depsOn('b'))];
  worker = await startFixtureWorker(env, {
    taskQueue,
    workflowsPath: require.resolve('./fixtures/workflows/finalMail'),
    activities: {
      async sendReportMail(mail: PreparedMail) {
        const { attempt } = Context.current().info;
        const result = await hosts[attempt === 1 ? 0 : 1].sendReportMail(mail);
        attempts.push({ attempt, result });
        // the first attempt dies right after the SMTP server took the message
        if (attempt === 1) throw ApplicationFailure.retryable('the worker died after the SMTP server took the message', 'JEST_CRASH');
        return result;
      },
    },
  });
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await session?.close();
});

test('an attempt that failed after the SMTP server took the message: the retry sends no second copy', async () => {
  const since = new Date(Date.now() - 1000);
  const tag = randomBytes(4).toString('hex');
  const mail: PreparedMail = {
    org: `mail-once-${tag}`,
    messageId: `<jest-${tag}@mailferry.test>`,
    to: ['admin@tailspintoys.com'],
    subject: `[mailferry] sent once ${tag}`,
    text: 'once',
    html: '<p>once</p>',
    attachments: [],
  };
  const result = await session.client.workflow.execute(finalMailOfOrganisation, {
    workflowId: organisationWorkflowId(mail.org),
    taskQueue,
    args: [mail],
  });
  expect(attempts.map((a) => [a.attempt, a.result.sent])).toEqual([
    [1, true],
    [2, false],
  ]);
  expect(result).toEqual({ sent: false });
  // time for a second copy to land, were one sent
  await new Promise((r) => setTimeout(r, 3000));
  const copies = await readSinkMessages(info, { since, subject: mail.subject });
  expect(copies.map((c) => c.mail.messageId)).toEqual([mail.messageId]);
}, 120_000);
