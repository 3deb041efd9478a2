/**
 * Access to mailferry's Temporal namespace is not a key to the mailboxes
 * (issue 11), against the real dev server, a real worker process and the lab:
 * starts, signals and updates without mailferry's payload key are refused and
 * change nothing; a sealed value of one organisation opens in no other; the
 * key rotates in the middle of a migration; a swapped-column CSV leaves no
 * password anywhere; reports are private; metrics stay on loopback; the DAV
 * connector sends its credentials to its own host only.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { readLabInfo, type LabInfo } from '../lab/info';
import { openSession, type Session } from '../client/connection';
import { orgState } from '../client/org';
import { applySettings } from '../client/settings';
import { startBatch, stopBatch } from '../client/batch';
import { createDavHttp } from '../connectors/dav/http';
import { AesGcmPayloadCodec, dataConverterOptions, KEY_ID_METADATA, loadCodec } from '../shared/codec';
import { createCodecServer } from '../worker/codecServer/server';
import { toJson, type JsonPayload } from '../worker/codecServer/payloads';
import { createLogger } from '../worker/logger';
import {
  batchStatusQuery,
  batchFinishedSignal,
  batchWorkflowId,
  completeMigrationUpdate,
  mailboxWorkflowId,
  setSettingsUpdate,
  stopBatchSignal,
} from '../workflows/definitions';
import {
  batchResult,
  csvOf,
  csvSourceOf,
  labOrganisation,
  ROOT,
  startWorker,
  TestUsers,
  uniqueName,
  waitFor,
  type WorkerProcess,
} from './helpers/backbone';
import { forgedBatchResult, ownQueue, type OwnQueue } from './helpers/operators';
import { readSinkMessages } from './helpers/smtpSink';
import { scanHistory } from './helpers/historyScan';

const run = promisify(execFile);
const METRICS_PORT = Number(process.env.MAILFERRY_TEMPORAL_PORT ?? 7233) + 50;

let info: LabInfo;
let q: OwnQueue;
let users: TestUsers;
/** what someone with access to the namespace but not the key sends: plain JSON payloads */
let plain: Client;
/** sends plain JSON too, but reads the worker's (encrypted) answers, so a test can check their wording */
let plainWithEyes: Client;

beforeAll(async () => {
  info = readLabInfo();
  users = new TestUsers(info);
  q = await ownQueue('security', { MAILFERRY_METRICS_PORT: String(METRICS_PORT) });
  const { connection, options } = q.session.client;
  plain = new Client({ connection, namespace: options.namespace });
  const { codec } = loadCodec(q.env);
  const eyes: PayloadCodec = { encode: async (p) => p, decode: (p) => codec.decode(p) };
  plainWithEyes = new Client({ connection, namespace: options.namespace, dataConverter: dataConverterOptions(eyes) });
}, 120_000);

afterAll(async () => {
  await q?.worker.stop(); // the rotation test replaces it
  await q?.close();
  await users?.cleanup();
});

type HistoryEvent = {
  eventType?: unknown;
  activityTaskScheduledEventAttributes?: unknown;
  startChildWorkflowExecutionInitiatedEventAttributes?: unknown;
  workflowTaskFailedEventAttributes?: unknown;
};

async function events(handle: WorkflowHandle): Promise<HistoryEvent[]> {
  return ((await handle.fetchHistory()).events ?? []) as HistoryEvent[];
}
const sideEffects = (list: HistoryEvent[]) =>
  list.filter((e) => e.activityTaskScheduledEventAttributes || e.startChildWorkflowExecutionInitiatedEventAttributes).length;
const wedged = (list: HistoryEvent[]) => list.filter((e) => e.workflowTaskFailedEventAttributes).length;
const refusals = (text: string) => (q.worker.output().match(new RegExp(text, 'g')) ?? []).length;

function rawPayload(keyId: string): Payload {
  return {
    metadata: { [METADATA_ENCODING_KEY]: Buffer.from('binary/encrypted'), [KEY_ID_METADATA]: Buffer.from(keyId) },
    data: randomBytes(64),
  };
}

test('a start without the key is refused, non-retryably and clearly, before any activity or child runs', async () => {
  const victim = await labOrganisation(q.session, 'sec-victim');
  const sinkBefore = (await readSinkMessages(info)).length;
  const forged = [
    // an organisation workflow under another ID that names a real organisation, with a new admin address
    { type: 'organisationWorkflow', workflowId: uniqueName('sec-forged-org'), args: [{ org: victim }] },
    // a mailbox run whose "previous" TargetAddress points elsewhere, for a later rollback to restore
    {
      type: 'mailboxWorkflow',
      workflowId: mailboxWorkflowId(victim, `${uniqueName('ghost')}@tailspintoys.com`),
      args: [
        {
          org: victim,
          batch: 1,
          line: 2,
          address: 'x@tailspintoys.com',
          phase: 'provision',
          previous: { previousTargetAddress: 'SMTP:mallory@evil.test' },
        },
      ],
    },
  ];
  for (const f of forged) {
    await plain.workflow.start(f.type, { taskQueue: q.env.MAILFERRY_TASK_QUEUE!, workflowId: f.workflowId, args: f.args });
    const handle = q.session.client.workflow.getHandle(f.workflowId);
    const failure = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(failure.cause).toMatchObject({ type: 'PAYLOAD_REFUSED', nonRetryable: true });
    expect(failure.cause?.message).toMatch(
      /^Refused this workflow start: it is not encrypted with mailferry’s payload key\. Nothing was done\./,
    );
    const list = await events(handle);
    expect([sideEffects(list), wedged(list)]).toEqual([0, 0]);
  }
  // a start with no argument at all (what the Web UI sends when the input is left empty)
  const empty = uniqueName('sec-empty');
  await q.session.client.workflow.start('organisationWorkflow', { taskQueue: q.env.MAILFERRY_TASK_QUEUE!, workflowId: empty, args: [] });
  const emptyFailure = (await q.session.client.workflow
    .getHandle(empty)
    .result()
    .catch((e: unknown) => e)) as WorkflowFailedError;
  expect(emptyFailure.cause?.message).toMatch(/it carries no argument/);
  expect((await readSinkMessages(info)).length).toBe(sinkBefore);
});

test('signals and updates without the key are refused; the organisation and its active batch are unchanged and not wedged', async () => {
  const org = await labOrganisation(q.session, 'sec-sig');
  const u = await users.add('sec-sig', { messages: 2, contacts: 1, events: 1 });
  const startAfter = new Date(Date.now() + 3_600_000).toISOString();
  const { batch } = await startBatch(q.session, org, {
    startedBy: 'jest',
    notify: [],
    source: csvSourceOf(q.session, org, csvOf([[u.address, '', 'False']])),
    startAfter,
  });
  const orgHandle = q.session.client.workflow.getHandle(org);
  const batchHandle = q.session.client.workflow.getHandle(batchWorkflowId(org, batch));
  await waitFor('the batch to wait for its start time', async () => (await batchHandle.query(batchStatusQuery)).phase === 'scheduled');
  const before = await orgState(q.session.client, org);
  expect(before.activeBatch).toBe(batch);
  const orgEffects = sideEffects(await events(orgHandle));
  const batchEffects = sideEffects(await events(batchHandle));
  const signalsBefore = refusals('Refused the signal');

  const fakeResult = forgedBatchResult(batch);
  // plaintext: frees the one-active-batch slot, stops the batch
  await plain.workflow.getHandle(org).signal(batchFinishedSignal, fakeResult);
  await plain.workflow.getHandle(batchWorkflowId(org, batch)).signal(stopBatchSignal, { by: 'mallory', token: 'forged' });
  // no argument at all, with the key
  await q.session.client.workflow.getHandle(batchWorkflowId(org, batch)).signal('stop');
  // ciphertext the worker cannot authenticate: garbage under the real key id, and an id it does not know
  for (const keyId of ['default', 'mallory-key']) {
    await q.session.client.workflowService.signalWorkflowExecution({
      namespace: q.session.client.options.namespace,
      workflowExecution: { workflowId: org },
      signalName: batchFinishedSignal.name,
      input: { payloads: [rawPayload(keyId)] },
      identity: 'mallory',
      requestId: randomUUID(),
    });
  }
  // updates: Complete Migration (deletes the batch records, reports to the admin) and new settings
  await expect(
    plainWithEyes.workflow.getHandle(org).executeUpdate(completeMigrationUpdate, { args: [{ by: 'mallory', token: 'forged' }] }),
  ).rejects.toMatchObject({
    cause: {
      type: 'PAYLOAD_REFUSED',
      message: expect.stringMatching(/^Refused the update "completeMigration": it is not encrypted with mailferry’s payload key/),
    },
  });
  const newAdmin = { ...before.settings!, adminEmail: 'mallory@evil.test' };
  await expect(plainWithEyes.workflow.getHandle(org).executeUpdate(setSettingsUpdate, { args: [newAdmin] })).rejects.toMatchObject({
    cause: { type: 'PAYLOAD_REFUSED' },
  });

  await waitFor('the worker to refuse five signals', async () => refusals('Refused the signal') - signalsBefore >= 5);
  // (the log is JSON lines: the quotes are escaped)
  expect(q.worker.output()).toMatch(/Refused the signal \\"batchFinished\\": it failed authentication under mailferry’s payload key/);
  expect(q.worker.output()).toMatch(/Refused the signal \\"batchFinished\\": it is encrypted with a key id this worker does not have/);
  expect(q.worker.output()).toMatch(/Refused the signal \\"stop\\": it carries no argument/);
  const after = await orgState(q.session.client, org);
  expect(after).toEqual(before);
  expect(after.settings?.adminEmail).not.toBe('mallory@evil.test');
  expect((await batchHandle.query(batchStatusQuery)).phase).toBe('scheduled');
  const [orgEvents, batchEvents] = [await events(orgHandle), await events(batchHandle)];
  expect([sideEffects(orgEvents), sideEffects(batchEvents)]).toEqual([orgEffects, batchEffects]);
  expect([wedged(orgEvents), wedged(batchEvents)]).toEqual([0, 0]);

  // the real admin, with the key, still can
  await stopBatch(q.session, org, 'jest', batch);
  expect((await batchResult(q.session, org, batch)).phase).toBe('stopped');
}, 180_000);

test('sealed settings of one organisation are refused by another, with a clear error', async () => {
  const a = await labOrganisation(q.session, 'sec-a');
  const b = uniqueName('sec-b');
  const sealedForA = (await orgState(q.session.client, a)).settings!;
  const refused = await applySettings(q.session, b, sealedForA).catch((e: unknown) => e as Error);
  expect(refused).toBeInstanceOf(Error);
  expect((refused as Error).message).toContain(
    `A secret sealed for organisation "${a}" was given to organisation "${b}"; sealed values never move between organisations: seal it again for this one with the mailferry CLI.`,
  );
  expect((await orgState(q.session.client, b)).settings).toBeNull();
});

test('the payload key rotates in the middle of a migration; runs written under the old key stay readable through the codec server', async () => {
  const u1 = await users.add('sec-rot1', { messages: 3, contacts: 1, events: 1 });
  const u2 = await users.add('sec-rot2', { messages: 3, contacts: 1, events: 1 });
  const org = await labOrganisation(q.session, 'sec-rot');
  const first = await startBatch(q.session, org, {
    startedBy: 'jest',
    notify: [],
    source: csvSourceOf(q.session, org, csvOf([[u1.address, '', 'False']])),
  });
  expect((await batchResult(q.session, org, first.batch)).phase).toBe('completed');
  // the second batch starts under the old key and waits; the workers are replaced meanwhile
  const second = await startBatch(q.session, org, {
    startedBy: 'jest',
    notify: [],
    source: csvSourceOf(q.session, org, csvOf([[u2.address, 'Rotation!Pass-77', 'False']])),
    startAfter: new Date(Date.now() + 20_000).toISOString(),
  });

  const dir = mkdtempSync(join(tmpdir(), 'mailferry-rotation-'));
  const oldKey = readFileSync(q.env.MAILFERRY_CODEC_KEY_FILE!, 'utf8').trim();
  writeFileSync(join(dir, 'codec.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'codec.previous-keys'), `# retired ${new Date().toISOString()}\ndefault:${oldKey}\n`, { mode: 0o600 });
  const rotated = {
    ...q.env,
    MAILFERRY_CODEC_KEY_FILE: join(dir, 'codec.key'),
    MAILFERRY_CODEC_KEY_ID: 'rotated',
    MAILFERRY_CODEC_PREVIOUS_KEYS_FILE: join(dir, 'codec.previous-keys'),
  };
  await q.worker.stop();
  let worker: WorkerProcess | undefined;
  let session: Session | undefined;
  try {
    worker = await startWorker(rotated);
    session = await openSession(rotated);
    const done = await batchResult(session, org, second.batch);
    expect([done.phase, done.completed]).toEqual(['completed', 1]);

    // the second batch's history holds payloads of both keys
    const history = (await session.client.workflow.getHandle(batchWorkflowId(org, second.batch)).fetchHistory()) as unknown;
    const ids = new Set<string>();
    const collect = (v: unknown): void => {
      if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
      const id = (v as Payload).metadata?.[KEY_ID_METADATA];
      if (id) ids.add(Buffer.from(id).toString());
      Object.values(v).forEach(collect);
    };
    collect(history);
    expect([...ids].sort()).toEqual(['default', 'rotated']);

    // the codec server with the rotated keyring shows the first batch (old key only) decoded; with the new key alone it cannot
    const firstInput = (await q.session.client.workflow.getHandle(batchWorkflowId(org, first.batch)).fetchHistory()).events![0]!
      .workflowExecutionStartedEventAttributes!.input!.payloads![0]! as Payload;
    expect(Buffer.from(firstInput.metadata![KEY_ID_METADATA]!).toString()).toBe('default');
    const token = randomBytes(32).toString('hex');
    const decodeWith = async (codec: PayloadCodec) => {
      const server = createCodecServer({ codec, token, origins: ['http://127.0.0.1:8233'], logger: createLogger('silent', 'test') });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/${token}/decode`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ payloads: [toJson(firstInput)] }),
        });
        return ((await res.json()) as { payloads: JsonPayload[] }).payloads[0]!;
      } finally {
        server.close();
      }
    };
    const readable = await decodeWith(loadCodec(rotated).codec);
    expect(Buffer.from(readable.metadata!.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(readable.data!, 'base64').toString())).toMatchObject({ org, batch: first.batch });
    const newOnly = await decodeWith(new AesGcmPayloadCodec(loadCodec(rotated).keyring.current));
    expect(Buffer.from(newOnly.metadata!.encoding!, 'base64').toString()).toBe('binary/encrypted');
  } finally {
    await worker?.stop();
    await session?.close();
    q.worker = await startWorker(q.env);
  }
}, 300_000);

test('a swapped-column CSV (passwords under EmailAddress) leaves no password in CLI output, history (raw or decoded), logs, reports or e-mails', async () => {
  const good = await users.add('sec-swap', { messages: 2, contacts: 1, events: 1 });
  const org = await labOrganisation(q.session, 'sec-swap');
  const passwords = ['Swapped!Pass-1a', 'Swapped;=cmd|x-2', `Swapped@${randomBytes(4).toString('hex')}`];
  const file = join(mkdtempSync(join(tmpdir(), 'mailferry-swap-')), 'swapped.csv');
  writeFileSync(
    file,
    [
      'EmailAddress,Password,ForceChangePassword',
      `${good.address},Good!Pass-9z,False`,
      ...passwords.map((p, i) => `${p},user${i}@tailspintoys.com,False`),
    ].join('\r\n'),
  );
  const since = new Date();
  const cli = await run(join(ROOT, 'bin', 'mailferry'), ['--org', org, 'batch', 'start', '--csv', file, '--wait'], { env: q.env }).catch(
    (e: { stdout: string; stderr: string }) => e,
  );
  const cliOutput = `${cli.stdout}\n${cli.stderr}`;
  expect(cliOutput).toMatch(/warning: line 3: \(not shown: 15 characters\)/);
  const state = await orgState(q.session.client, org);
  const batch = state.batches.at(-1)!.batch;
  const result = await batchResult(q.session, org, batch);
  expect([result.completed, result.rejected]).toEqual([1, 3]);

  const places: [string, Buffer][] = [
    ['CLI output', Buffer.from(cliOutput)],
    ['worker log', Buffer.from(q.worker.output())],
  ];
  const { codec } = loadCodec(q.env);
  const runs = [org, batchWorkflowId(org, batch), mailboxWorkflowId(org, good.address)];
  for (const id of runs) {
    const scanned = await scanHistory(q.session.client, codec, id);
    expect(scanned.undecodable).toBe(0);
    places.push([`history of ${id} (raw)`, scanned.raw], [`history of ${id} (decoded)`, scanned.decoded]);
  }
  const decodedBatch = places.find(([w]) => w === `history of ${batchWorkflowId(org, batch)} (decoded)`)![1].toString();
  expect(decodedBatch).toContain('(not shown: 15 characters)'); // the scan does read decoded payloads
  const reportsDir = join(q.env.MAILFERRY_REPORTS_DIR!, org);
  const reportFiles = readdirSync(reportsDir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
  expect(reportFiles.length).toBeGreaterThanOrEqual(3);
  for (const f of reportFiles) {
    places.push([f, readFileSync(f)]);
    expect((statSync(f).mode & 0o777).toString(8)).toBe('600');
  }
  const mails = (await readSinkMessages(info, { since, subject: org })).map((m) => m.mail);
  expect(mails.length).toBeGreaterThanOrEqual(2);
  for (const m of mails) {
    places.push([`e-mail ${m.subject}`, Buffer.from(`${m.subject}\n${m.text}\n${m.html}`)]);
    for (const a of m.attachments) places.push([`attachment ${a.filename}`, a.content]);
  }
  const hits = places.flatMap(([where, bytes]) => passwords.filter((p) => bytes.includes(Buffer.from(p))).map(() => where));
  expect(hits).toEqual([]);
  const validation = mails
    .flatMap((m) => m.attachments)
    .find((a) => a.filename === 'ValidationReport.csv')!
    .content.toString();
  expect(validation).toMatch(/^3,\(not shown: 15 characters\),BAD_ADDRESS,/m);
}, 180_000);

test("the worker's metrics endpoint listens on loopback only unless configured", async () => {
  const hexPort = METRICS_PORT.toString(16).toUpperCase().padStart(4, '0');
  const listening = ['/proc/net/tcp', '/proc/net/tcp6']
    .flatMap((f) => readFileSync(f, 'utf8').split('\n').slice(1))
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A')
    .map((cols) => cols[1]!.split(':')[0]);
  expect(listening).toEqual(['0100007F']);
  const res = await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`);
  expect(res.status).toBe(200);
});

test('the DAV connector sends credentials only to its configured host, never to another host a server names in an href', async () => {
  const seen: { host: string; auth?: string }[] = [];
  const listen = (handler: (req: IncomingMessage, body: string) => [number, string]) =>
    new Promise<Server>((resolve) => {
      const s = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          seen.push({ host: req.headers.host ?? '', auth: req.headers.authorization });
          const [status, text] = handler(req, body);
          res.writeHead(status, { 'Content-Type': 'application/xml' }).end(text);
        });
      });
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
  const elsewhere = await listen(() => [207, '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"/>']);
  const otherHost = `127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
  const home = await listen(() => [
    207,
    `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>http://${otherHost}/stolen/contacts/</d:href>` +
      '<d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>',
  ]);
  const homeHost = `127.0.0.1:${(home.address() as AddressInfo).port}`;
  try {
    const http = createDavHttp({ url: `http://${homeHost}/`, user: 'admin', password: 'Dav!Secret-1' });
    const [listed] = await http.propfind(http.home('ann@contoso.com'), '1', { 'd:resourcetype': {} });
    const foreign = http.absolute(listed!.href!);
    expect(foreign).toBe(`http://${otherHost}/stolen/contacts/`);
    await expect(http.propfind(foreign, '1', { 'd:resourcetype': {} })).rejects.toMatchObject({
      code: 'COPY_FAILED',
      message: `The DAV server at http://${homeHost} pointed to http://${otherHost}; mailferry sends the credentials of admin only to http://${homeHost}, so it stopped.`,
    });
    await expect(http.putNew(foreign, 'BEGIN:VCARD', 'text/vcard')).rejects.toMatchObject({ code: 'COPY_FAILED' });
    expect(seen.map((s) => s.host)).toEqual([homeHost]);
    expect(seen[0]!.auth).toMatch(/^Basic /);
  } finally {
    home.close();
    elsewhere.close();
  }
});

test('settings from the Web UI (plain JSON) and an update without an argument are refused by the validator', async () => {
  const org = await labOrganisation(q.session, 'sec-ui');
  const before = await orgState(q.session.client, org);
  await expect(plainWithEyes.workflow.getHandle(org).executeUpdate(setSettingsUpdate, { args: [before.settings!] })).rejects.toMatchObject({
    cause: { type: 'PAYLOAD_REFUSED' },
  });
  await expect(q.session.client.workflow.getHandle(org).executeUpdate('completeMigration', { args: [] })).rejects.toMatchObject({
    cause: { type: 'PAYLOAD_REFUSED', message: expect.stringMatching(/it carries no argument/) },
  });
  expect(await orgState(q.session.client, org)).toEqual(before);
});

test('compose: the Web UI is read-only and the unauthenticated frontend stays on loopback', () => {
  const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  const service = (name: string) =>
    compose.slice(compose.indexOf(`\n  ${name}:\n`), compose.indexOf('\n\n', compose.indexOf(`\n  ${name}:\n`)));
  expect(service('temporal-ui')).toMatch(/^\s+TEMPORAL_DISABLE_WRITE_ACTIONS: "true"$/m);
  const published = [...compose.matchAll(/^\s+- "([^"]+)"$/gm)].map((m) => m[1]!).filter((p) => /^[\d.]*:?\d+:\d+$/.test(p));
  expect(published.length).toBeGreaterThanOrEqual(3);
  for (const p of published) expect(p).toMatch(/^127\.0\.0\.1:/);
  expect(service('temporal')).toContain('"127.0.0.1:7233:7233"');
});
