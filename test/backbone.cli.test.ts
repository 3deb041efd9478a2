/**
 * The admin's path through the real CLI process: settings, a batch with a
 * failing row, the fix, `batch resume --mailbox`, status as JSON, refusals
 * with their exit codes; then no password anywhere in the raw histories, the
 * CLI's output or the worker's log.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Client } from 'ldapts';
import { recipientDn } from '../lab/config';
import { readLabInfo, type LabInfo } from '../lab/info';
import type { Session } from '../client/connection';
import { organisationWorkflowId, type BatchStatus } from '../workflows/definitions';
import {
  addCloudMeu,
  csvOf,
  labEnv,
  runCli,
  startWorker,
  testSession,
  TestUsers,
  uniqueName,
  type WorkerProcess,
} from './helpers/backbone';

let info: LabInfo;
let session: Session;
let worker: WorkerProcess;
let users: TestUsers;
const env = labEnv();
const printed: string[] = [];

async function mailferry(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runCli(env, ...args);
  printed.push(r.stdout, r.stderr);
  return r;
}

beforeAll(async () => {
  info = readLabInfo();
  session = await testSession();
  worker = await startWorker(env);
  users = new TestUsers(info);
});

afterAll(async () => {
  await worker.stop();
  await users.cleanup();
  await session.close();
});

test('settings, a failed row, the fix, resume of that one row from the CLI, and no password anywhere', async () => {
  const org = uniqueName('cli');
  const dir = mkdtempSync(join(tmpdir(), 'mf-cli-'));
  const ok = await users.add('cli-ok', { messages: 12 });
  const later = await users.add('cli-later', { kind: 'no-meu', messages: 9 });
  const secrets = [`Cloud!${uniqueName('pw')}A1`, `Cloud!${uniqueName('pw')}B2`];

  const set = await mailferry('--org', org, 'settings', 'set', '--lab', '--max-concurrent', '2');
  expect(set.stderr).toBe('');
  expect(set.code).toBe(0);
  expect(set.stdout).toMatch(/tested and saved \(Exchange 2007/);

  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'EmailAddress;Password\r\nx@tailspintoys.com;y\r\n');
  const refused = await mailferry('--org', org, 'batch', 'start', '--csv', bad);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/comma/i);

  const csv = join(dir, 'batch.csv');
  writeFileSync(
    csv,
    csvOf([
      [ok.address, secrets[0], 'False'],
      [later.address, secrets[1], 'False'],
    ]),
  );
  const first = await mailferry('--org', org, 'batch', 'start', '--csv', csv, '--wait', '--json');
  expect(first.code).toBe(0);
  expect(JSON.parse(first.stdout)).toMatchObject({ batch: 1, completed: 1, failed: 1 });

  const status1 = await mailferry('--org', org, 'batch', 'status', '--json');
  const s1 = JSON.parse(status1.stdout) as BatchStatus;
  expect(s1.rows.find((r) => r.address === later.address)).toMatchObject({
    state: 'failed',
    step: 'verifyMeu',
    error: { code: 'MEU_NOT_FOUND' },
  });

  await addCloudMeu(info, later.address);
  const resumed = await mailferry('--org', org, 'batch', 'resume', '--mailbox', later.address, '--wait', '--json');
  expect(resumed.code).toBe(0);
  expect(JSON.parse(resumed.stdout)).toMatchObject({ batch: 2, total: 1, completed: 1, failed: 0, messagesCopied: 9 });
  const s2 = JSON.parse((await mailferry('--org', org, 'batch', 'status', '--batch', '2', '--json')).stdout) as BatchStatus;
  expect(s2.rows).toHaveLength(1);
  expect(s2.rows[0]).toMatchObject({ address: later.address, state: 'completed', plan: { kind: 'resume', from: 'verifyMeu' } });
  // the resume had no CSV: the password the first batch's CSV gave came from the row's record, and the cloud account has it
  const bound = new Client({ url: info.cloud.ldap.url, timeout: 10000, connectTimeout: 5000 });
  await expect(bound.bind(recipientDn('cloud', later.address), secrets[1])).resolves.toBeUndefined();
  await bound.unbind();

  const shown = await mailferry('--org', org, 'settings', 'show', '--json');
  expect(shown.code).toBe(0);
  expect(JSON.parse(shown.stdout).settings.password).toBe('[sealed]');

  const none = await mailferry('--org', uniqueName('nosuch'), 'batch', 'status');
  expect(none.code).toBe(5);

  // Every run of this organisation, raw as the server stores it: no password in any byte.
  const forbidden = [...secrets, info.onprem.imap.admin.password, info.onprem.ldap.password, info.onprem.dav.admin.password];
  const query = `MailferryOrg = "${org}" OR WorkflowId = "${organisationWorkflowId(org)}"`;
  let histories = 0;
  for await (const wf of session.client.workflow.list({ query })) {
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await session.client.workflowService.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId: wf.workflowId, runId: wf.runId },
        nextPageToken,
      });
      const raw = Buffer.from(temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse.encode(page).finish());
      for (const secret of forbidden) expect(raw.includes(Buffer.from(secret))).toBe(false);
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    histories++;
  }
  expect(histories).toBeGreaterThanOrEqual(6); // organisation, 2 batches, 3+ mailbox runs
  for (const secret of forbidden) {
    expect(printed.join('\n')).not.toContain(secret);
    expect(worker.output()).not.toContain(secret);
  }
}, 300_000);
