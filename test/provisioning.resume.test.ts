/**
 * The provisioning steps are one activity (provisionMailbox) whose progress
 * past convertToMailbox is its heartbeat: a retry after a failure in
 * setTargetAddress, on a real Temporal server, goes on at setTargetAddress and
 * converts nothing twice; a failure for good names setTargetAddress. The lab's
 * real directories do the work; the worker runs in this process so that
 * setTargetAddress can fail at exactly that moment (as a directory briefly
 * away would make it).
 */
import { randomBytes } from 'node:crypto';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import pino from 'pino';
import { createDirectoryActivities } from '../activities/directory';
import type { ActivityDeps, Connectors } from '../activities/deps';
import { openSession, type Session } from '../client/connection';
import { createCloudDirectory, createSourceDirectory } from '../connectors/directory';
import type { CloudDirectory, SourceDirectory } from '../connectors/directory/types';
import type { Ledger } from '../connectors/ledger/types';
import { readLabInfo, type LabInfo } from '../lab/info';
import { LAB_ROUTING_DOMAIN } from '../lab/workerEnv';
import { MailferryError } from '../shared/errors';
import type { ConnectionSettings } from '../shared/domain';
import { provisionOnce } from './fixtures/workflows/provision';
import { startFixtureWorker, type FixtureWorker } from './helpers/fixtureWorker';
import { labEnv, targetAddressOf, TestUsers } from './helpers/backbone';

let info: LabInfo;
let session: Session;
let worker: FixtureWorker | undefined;
let users: TestUsers;
const taskQueue = `provision-${randomBytes(3).toString('hex')}`;
/** what the directories were asked, per address */
const calls: string[] = [];
/** how setTargetAddress fails, per address: 'once' (retryably, the first time) or 'always' (for good) */
const failing = new Map<string, 'once' | 'always'>();

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  info = readLabInfo();
  users = new TestUsers(info);
  const env = labEnv(info);
  session = await openSession(env);
  const o = info.onprem.ldap;
  const c = info.cloud.ldap;
  const connectors = {
    sourceDirectory: (): SourceDirectory => {
      const source = createSourceDirectory({ url: o.url, suffix: o.suffix, bindDn: o.bindDn, password: o.password, caFile: o.caFile });
      return Object.assign(Object.create(source) as SourceDirectory, {
        async setTargetAddress(address: string, value: string) {
          calls.push(`setTargetAddress ${address}`);
          const how = failing.get(address);
          if (how === 'always') throw new MailferryError('SOURCE_MAILBOX_NOT_FOUND', `jest: ${address} refused for good`);
          if (how === 'once') {
            failing.delete(address);
            throw new Error('jest: the on-premises directory went away');
          }
          return source.setTargetAddress(address, value);
        },
      });
    },
    cloudDirectory: (): CloudDirectory => {
      const cloud = createCloudDirectory({ url: c.url, suffix: c.suffix, bindDn: c.bindDn, password: c.password, routingDomain: LAB_ROUTING_DOMAIN });
      return Object.assign(Object.create(cloud) as CloudDirectory, {
        async convertToMailbox(...args: Parameters<CloudDirectory['convertToMailbox']>) {
          calls.push(`convertToMailbox ${args[0]}`);
          return cloud.convertToMailbox(...args);
        },
      });
    },
    // the record is not this test's: setTargetAddress keeps the value it replaces through it
    ledger: { rememberPreviousTargetAddress: async (_org: string, _address: string, value: string | null) => value } as Partial<Ledger> as Ledger,
  } as Partial<Connectors> as Connectors;
  const activities = createDirectoryActivities({ connectors, logger: pino({ level: 'warn' }) } as Partial<ActivityDeps> as ActivityDeps);
  worker = await startFixtureWorker(env, {
    taskQueue,
    workflowsPath: require.resolve('./fixtures/workflows/provision'),
    activities: { provisionMailbox: activities.provisionMailbox },
  });
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await users?.cleanup();
  await session?.close();
});

async function provision(address: string) {
  return session.client.workflow.execute(provisionOnce, {
    workflowId: `provision-${address}`,
    taskQueue,
    args: [{ org: 'jest', settings: {} as ConnectionSettings, address, forceChangePassword: false, from: 'verifyMeu' as const }],
  });
}

test('a retry after setTargetAddress failed resumes at setTargetAddress: the mailbox is converted once', async () => {
  const user = await users.add('prov-retry', { messages: 0, contacts: 0, events: 0 });
  failing.set(user.address, 'once');
  expect(await provision(user.address)).toEqual({ reached: 'setTargetAddress' });
  expect(calls.filter((c) => c.endsWith(user.address))).toEqual([
    `convertToMailbox ${user.address}`,
    `setTargetAddress ${user.address}`,
    `setTargetAddress ${user.address}`,
  ]);
  expect((await targetAddressOf(info, user.address))?.toLowerCase()).toContain(LAB_ROUTING_DOMAIN);
}, 120_000);

test('a failure for good names the sub-step that failed', async () => {
  const user = await users.add('prov-fail', { messages: 0, contacts: 0, events: 0 });
  failing.set(user.address, 'always');
  expect(await provision(user.address)).toEqual({ failedAt: 'setTargetAddress', code: 'SOURCE_MAILBOX_NOT_FOUND' });
}, 120_000);
