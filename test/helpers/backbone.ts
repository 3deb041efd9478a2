/**
 * For the backbone tests: a real worker process (so a test can SIGKILL it),
 * a client session with the lab's codec key, an organisation of the test's
 * own (workflow IDs and ledger are per organisation, so tests do not collide)
 * and lab users created for that test only.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readLabInfo, type LabInfo } from '../../lab/info';
import { createOrgUser, removeOrgUser, type OrgUserSpec } from '../../lab/users';
import { LAB_ROUTING_DOMAIN, labWorkerEnv } from '../../lab/workerEnv';
import { Client as LdapClient } from 'ldapts';
import { recipientDn, recipientRdn } from '../../lab/config';
import { openSession, type Session } from '../../client/connection';
import { buildSettings, applySettings } from '../../client/settings';
import { startBatch } from '../../client/batch';
import { createSourceDirectory } from '../../connectors/directory';
import { batchWorkflowId, type BatchResult, type BatchSource } from '../../workflows/definitions';

export const ROOT = join(__dirname, '..', '..');
export const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** One task queue per test file: its runs never land on a worker that another test file, helper or checkout started. */
const TEST_TASK_QUEUE = `mailferry-test-${process.pid}-${randomBytes(2).toString('hex')}`;

export function labEnv(info: LabInfo = readLabInfo()): NodeJS.ProcessEnv {
  return { ...process.env, ...labWorkerEnv(info), MAILFERRY_LOG_LEVEL: 'warn', MAILFERRY_TASK_QUEUE: TEST_TASK_QUEUE };
}

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the worker as deployments do (bin/mailferry-worker: compiled, with
 * its Node options) and resolves once it polls the task queue. The launcher
 * execs Node, so a SIGKILL of `child` kills the worker itself.
 */
export async function startWorker(env: NodeJS.ProcessEnv = labEnv()): Promise<WorkerProcess> {
  const child = spawn(join(ROOT, 'bin', 'mailferry-worker'), [], {
    cwd: ROOT,
    env: { ...env, MAILFERRY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start in 90 s:\n${out}`)), 90_000);
    const check = () => {
      if (out.includes('worker started')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before starting:\n${out}`));
    });
  });
  return {
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export async function testSession(): Promise<Session> {
  return openSession(labEnv());
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A new organisation whose settings come from the lab (tested by the workflow on the way in). */
export async function labOrganisation(session: Session, prefix: string, maxConcurrent = 3): Promise<string> {
  const org = uniqueName(prefix);
  await applySettings(session, org, buildSettings({ lab: true, maxConcurrent }, session, org));
  return org;
}

export interface TestUser {
  address: string;
  password: string;
}

/** Lab users for one test (unique addresses under tailspintoys.com), removed by `cleanup`. */
export class TestUsers {
  readonly created: string[] = [];
  constructor(readonly info: LabInfo) {}

  async add(prefix: string, spec: Partial<OrgUserSpec> = {}): Promise<TestUser> {
    const address = `${uniqueName(prefix)}@${spec.address?.split('@')[1] ?? 'tailspintoys.com'}`;
    const password = 'Source!Pass1';
    this.created.push(address);
    await createOrgUser(this.info, { kind: 'normal', messages: 30, contacts: 3, events: 3, ...spec, address, password });
    return { address, password };
  }

  async cleanup(): Promise<void> {
    for (const address of this.created) await removeOrgUser(this.info, address).catch(() => undefined);
  }
}

export function csvOf(rows: [string, string, string][]): string {
  return ['EmailAddress,Password,ForceChangePassword', ...rows.map((r) => r.join(','))].join('\r\n') + '\r\n';
}

export async function runBatch(
  session: Session,
  org: string,
  source: BatchSource,
  notify: string[] = [],
): Promise<{ batch: number; workflowId: string }> {
  return startBatch(session, org, { startedBy: 'jest', notify, source });
}

export async function batchResult(session: Session, org: string, batch: number): Promise<BatchResult> {
  return (await session.client.workflow.getHandle(batchWorkflowId(org, batch)).result()) as BatchResult;
}

export function csvSourceOf(session: Session, org: string, content: string, fileName = 'test.csv'): BatchSource {
  return { kind: 'csv', fileName, csv: session.secrets.seal(org, content) };
}

/** What directory sync does for a user that had no MEU: creates the cloud mail-enabled user. */
export async function addCloudMeu(info: LabInfo, address: string): Promise<void> {
  const c = info.cloud.ldap;
  const client = new LdapClient({ url: c.url });
  await client.bind(c.bindDn, c.password);
  const local = address.split('@')[0];
  try {
    await client.add(recipientDn('cloud', address), {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'mfRecipient'],
      uid: recipientRdn(address).slice('uid='.length),
      cn: address,
      sn: 'Test',
      mail: address,
      mfRecipientType: 'MailUser',
      targetAddress: `SMTP:${address}`,
      proxyAddresses: [`SMTP:${address}`, `smtp:${local}@${LAB_ROUTING_DOMAIN}`],
    });
  } finally {
    await client.unbind();
  }
}

/** Polls `fn` until it returns something truthy, or fails naming `what`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Runs the Temporal CLI against this test's server (`temporal workflow terminate|delete …`), as an SRE would. */
export function temporalCli(...args: string[]): string {
  const cli = execFileSync('bash', [join(ROOT, 'scripts', 'ensure-temporal-cli.sh')], { encoding: 'utf8' }).trim();
  return execFileSync(cli, [...args, '--address', process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233'], { encoding: 'utf8' });
}

/** The on-premises targetAddress of a mailbox (null: none). */
export async function targetAddressOf(info: LabInfo, address: string): Promise<string | null> {
  const dir = createSourceDirectory(info.onprem.ldap);
  try {
    return (await dir.findMailbox(address))?.targetAddress ?? null;
  } finally {
    await dir.close();
  }
}

/** The real CLI process (`client/main.ts`), as an admin runs it. */
export function runCli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'client', 'main.ts'), ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** One test file's lab, CLI session and test users (removed after it); the worker a test puts here is stopped after it. */
export interface BackboneSuite {
  info: LabInfo;
  session: Session;
  users: TestUsers;
  worker?: WorkerProcess;
}

export function backboneSuite(): BackboneSuite {
  const suite = {} as BackboneSuite;
  beforeAll(async () => {
    suite.info = readLabInfo();
    suite.session = await testSession();
    suite.users = new TestUsers(suite.info);
  });
  afterAll(async () => {
    await suite.worker?.stop();
    await suite.users.cleanup();
    await suite.session.close();
  });
  return suite;
}
