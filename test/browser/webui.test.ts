/**
 * What an SRE does in the Temporal Web UI (the dev server's, from
 * scripts/temporal-up.sh) with the codec server running: find the failed
 * mailbox of an organisation with a search-attribute query, open its run, read
 * which step failed and why, and see its input decoded with the password
 * still sealed. Without the token the codec server refuses and the UI shows
 * only ciphertext. Assertions are on page text; screenshots are for people.
 */
import { randomBytes } from 'node:crypto';
import { readLabInfo } from '../../lab/info';
import { openSession, type Session } from '../../client/connection';
import { mailboxWorkflowId } from '../../workflows/definitions';
import {
  batchResult,
  csvOf,
  csvSourceOf,
  labEnv,
  labOrganisation,
  runBatch,
  startWorker,
  TestUsers,
  uniqueName,
  type TestUser,
  type WorkerProcess,
  waitFor,
} from '../helpers/backbone';
import type { Locator } from 'playwright-core';
import { openBrowser, resetArtifacts, startCodecServer, useCodecEndpoint, type Browser, type CodecServerProcess } from './support';

const UI = `http://127.0.0.1:${process.env.MAILFERRY_TEMPORAL_UI_PORT ?? '8233'}`;
const CLOUD_PASSWORD = 'Cloud!Pass1x';
const token = randomBytes(32).toString('hex');

let session: Session;
let worker: WorkerProcess;
let codecServer: CodecServerProcess;
let users: TestUsers;
let org: string;
let failing: TestUser;
let migrated: TestUser;
let browser: Browser | undefined;

const EVENT_ROW = 'tr[data-testid="event-summary-row"]';

/** The element's text once it holds every one of `texts` (the UI fills in as its requests return). */
async function textWith(element: Locator, texts: string[], timeoutMs = 30_000): Promise<string> {
  let text = '';
  try {
    return await waitFor(
      texts.join(', '),
      async () => {
        text = await element.innerText();
        return texts.every((t) => text.includes(t)) && text;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; missing ${JSON.stringify(texts.filter((t) => !text.includes(t)))} in:\n${text}`);
  }
}

beforeAll(async () => {
  resetArtifacts();
  // a queue of its own: no other checkout's worker picks up these runs
  const env = { ...labEnv(), MAILFERRY_TASK_QUEUE: uniqueName('webui') };
  [worker, codecServer] = await Promise.all([
    startWorker(env),
    startCodecServer({ ...env, MAILFERRY_CODEC_SERVER_TOKEN: token, MAILFERRY_CODEC_SERVER_CORS_ORIGIN: UI }),
  ]);
  session = await openSession(env);
  users = new TestUsers(readLabInfo());
  migrated = await users.add('webui-ok', { messages: 3, contacts: 1, events: 1 });
  failing = await users.add('webui-nomeu', { kind: 'no-meu', messages: 3 });
  org = await labOrganisation(session, 'webui', 2);
  const csv = csvOf([
    [migrated.address, CLOUD_PASSWORD, 'False'],
    [failing.address, CLOUD_PASSWORD, 'False'],
  ]);
  const { batch } = await runBatch(session, org, csvSourceOf(session, org, csv));
  const result = await batchResult(session, org, batch);
  expect([result.completed, result.failed]).toEqual([1, 1]);
}, 120_000);

afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

afterAll(async () => {
  if (process.env.MF_DEBUG === '1') console.log(codecServer?.output().slice(-5000));
  await Promise.all([worker?.stop(), codecServer?.stop()]);
  await users?.cleanup();
  await session?.close();
});

test('an SRE finds the failed mailbox with a query, sees the failed step and why, and its input decoded with the password sealed', async () => {
  // the mailbox's record carries the same attributes: the runs that did the steps are the mailboxWorkflow ones
  const query = `MailferryState = "failed" AND MailferryOrg = "${org}" AND WorkflowType = "mailboxWorkflow"`;
  const failedId = mailboxWorkflowId(org, failing.address);
  // The list reads visibility, which trails the run by a moment.
  await waitFor('the failed row in visibility', async () => (await session.client.workflow.count(query)).count === 1);

  browser = await openBrowser();
  const { page } = browser;
  await useCodecEndpoint(page, UI, `${codecServer.url}/${token}`);
  await page.goto(`${UI}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
  const row = page.getByRole('link', { name: failedId, exact: true });
  await row.waitFor();
  const list = await page.locator('main').innerText();
  await browser.screenshot('01-query-failed-mailboxes');
  expect(list.split(`${org}/mailbox/`).length - 1).toBe(1);
  expect(list).not.toContain(migrated.address);

  await row.click();
  // input and result are decoded by separate calls to the codec server
  const summary = await textWith(page.locator('main'), [
    `"address": "${failing.address}"`,
    '"password": "[sealed]"',
    '"type": "MEU_NOT_FOUND"',
    `${failing.address}: verifyMeu failed: The cloud organisation has no mail-enabled user for ${failing.address}.`,
  ]);
  await browser.screenshot('02-failed-run-decoded');
  for (const leak of [CLOUD_PASSWORD, 'sealed:v', 'binary/encrypted']) expect(summary).not.toContain(leak);

  // the event history: the failed activity, its type, and its decoded message
  await page.getByText('Event History').first().click();
  const failedEvent = page.locator(EVENT_ROW, { hasText: 'Activity Task Failed' });
  await failedEvent.click();
  const history = await textWith(page.locator('table', { has: page.locator(EVENT_ROW) }), [
    'Activity Task Failed',
    'RETRY_STATE_NON_RETRYABLE_FAILURE',
    `"message": "The cloud organisation has no mail-enabled user for ${failing.address}."`,
  ]);
  await failedEvent.evaluate((row) => (row as unknown as { scrollIntoView(o: object): void }).scrollIntoView({ block: 'start' }));
  await browser.screenshot('03-event-history-failed-step');
  // the three provisioning steps are one activity; the step it failed at is in the run's summary above and its search attributes below
  expect(history).toMatch(/Activity Type\s+provisionMailbox/);
  for (const leak of [CLOUD_PASSWORD, 'sealed:v']) expect(history).not.toContain(leak);

  // what the query matched on, kept current by the mailbox workflow
  await page.getByText('Search Attributes', { exact: true }).click();
  await textWith(page.locator('main'), [
    '"MailferryStep": "verifyMeu"',
    '"MailferryFailureKind": "MEU_NOT_FOUND"',
    '"MailferryState": "failed"',
  ]);
  await browser.screenshot('04-search-attributes');
});

test('without the token the codec server refuses: the UI says so and shows ciphertext only', async () => {
  const failedId = mailboxWorkflowId(org, failing.address);
  const { runId } = await session.client.workflow.getHandle(failedId).describe();
  browser = await openBrowser();
  const { page } = browser;
  await useCodecEndpoint(page, UI, `${codecServer.url}/${randomBytes(32).toString('hex')}`);
  await page.goto(`${UI}/namespaces/default/workflows/${encodeURIComponent(failedId)}/${runId}/history`);
  // the payloads' metadata as the UI prints it undecoded: base64 of the encoding name
  const encrypted = Buffer.from('binary/encrypted').toString('base64');
  const text = await textWith(page.locator('main'), ['Codec Server could not connect', encrypted]);
  await browser.screenshot('05-without-token');
  for (const plain of ['"password"', '[sealed]', 'verifyMeu failed', 'no mail-enabled user']) expect(text).not.toContain(plain);
  expect(codecServer.output()).toMatch(/"status":401/);
});
