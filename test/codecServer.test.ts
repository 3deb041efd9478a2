/**
 * The codec server over real HTTP: the protocol (also through the Temporal
 * CLI's own codec client on a real history), the token, CORS, redaction of
 * sealed secrets, and what reaches its log.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmPayloadCodec, loadCodec } from '../shared/codec';
import { createSecretBox } from '../shared/secrets';
import { loadCodecServerEnv } from '../worker/codecServer/config';
import { toJson, type JsonPayload } from '../worker/codecServer/payloads';
import { createCodecServer } from '../worker/codecServer/server';
import { createLogger } from '../worker/logger';
import { labEnv, ROOT, testSession, uniqueName } from './helpers/backbone';

const run = promisify(execFile);
const UI = 'http://127.0.0.1:8233';
const TEMPORAL = `127.0.0.1:${process.env.MAILFERRY_TEMPORAL_PORT ?? '7233'}`;
const token = randomBytes(32).toString('hex');
const password = 'Plain!Text-Password-42';
const key = { id: 'k1', key: randomBytes(32) };
const codec = new AesGcmPayloadCodec(key);
const secrets = createSecretBox({ current: key, previous: [] });

let server: Server;
let base: string;
let logs = '';

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs += chunk.toString();
      done();
    },
  });
  server = createCodecServer({ codec, token, origins: [UI], logger: createLogger('info', 'test', sink), allowEncode: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

const bearer = { Authorization: `Bearer ${token}` };
const jsonOf = (payloads: Payload[]) => ({ payloads: payloads.map(toJson) });
const valueOf = (p: JsonPayload) => JSON.parse(Buffer.from(p.data!, 'base64').toString('utf8')) as unknown;

async function encrypted(...values: unknown[]) {
  return jsonOf(await codec.encode(values.map((v) => defaultPayloadConverter.toPayload(v))));
}

test('without MAILFERRY_CODEC_SERVER_ENCODE, /encode is refused even with the token: the token reads, it does not write', async () => {
  const readOnly = createCodecServer({ codec, token, origins: [UI], logger: createLogger('silent', 'test') });
  await new Promise<void>((resolve) => readOnly.listen(0, '127.0.0.1', resolve));
  try {
    const at = `http://127.0.0.1:${(readOnly.address() as AddressInfo).port}`;
    const body = JSON.stringify(jsonOf([defaultPayloadConverter.toPayload({ org: 'contoso' })]));
    const res = await fetch(`${at}/${token}/encode`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...bearer }, body });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/only decodes: set MAILFERRY_CODEC_SERVER_ENCODE=true/);
    const decoded = await fetch(`${at}/${token}/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(await encrypted(1)) });
    expect(decoded.status).toBe(200);
  } finally {
    readOnly.close();
  }
  expect(loadCodecServerEnv({ MAILFERRY_CODEC_SERVER_TOKEN: token }).MAILFERRY_CODEC_SERVER_ENCODE).toBe(false);
});

test('decode gives back what encode encrypted, with the token as a bearer header or as the endpoint path', async () => {
  const plain = jsonOf([defaultPayloadConverter.toPayload({ address: 'a@b.test', n: 1 })]);
  const encodedRes = await post('/encode', plain, bearer);
  expect(encodedRes.status).toBe(200);
  const encoded = (await encodedRes.json()) as { payloads: JsonPayload[] };
  expect(Buffer.from(encoded.payloads[0]!.metadata!.encoding!, 'base64').toString()).toBe('binary/encrypted');
  expect(Buffer.from(encoded.payloads[0]!.data!, 'base64').includes('a@b.test')).toBe(false);

  // the Web UI appends ?preserveStorageRefs=true to the endpoint it was given
  for (const [path, headers] of [
    ['/decode', bearer],
    [`/${token}/decode?preserveStorageRefs=true`, {}],
  ] as const) {
    const res = await post(path, encoded, headers);
    expect(res.status).toBe(200);
    const decoded = (await res.json()) as { payloads: JsonPayload[] };
    expect(decoded.payloads.map(valueOf)).toEqual([{ address: 'a@b.test', n: 1 }]);
  }
});

test('sealed secrets show as [sealed]: never plaintext, never their ciphertext', async () => {
  const sealed = secrets.seal('contoso', password);
  const body = await encrypted({ address: 'a@b.test', password: sealed, settings: { admin: { password: secrets.seal('contoso', 'Admin!1') } } }, [sealed], `row: ${sealed}`);
  const res = await post('/decode', body, bearer);
  const text = JSON.stringify(((await res.json()) as { payloads: JsonPayload[] }).payloads.map(valueOf));
  expect(JSON.parse(text)).toEqual([
    { address: 'a@b.test', password: '[sealed]', settings: { admin: { password: '[sealed]' } } },
    ['[sealed]'],
    'row: [sealed]',
  ]);
  expect(text).not.toContain(password);
  expect(text).not.toContain('sealed:v');
});

test('without the token, or with a wrong one, it refuses with 401', async () => {
  const body = await encrypted({ n: 1 });
  const wrong = randomBytes(32).toString('hex');
  const statuses = await Promise.all([
    post('/decode', body),
    post('/decode', body, { Authorization: `Bearer ${wrong}` }),
    post('/decode', body, { Authorization: `Basic ${token}` }),
    post(`/${wrong}/decode`, body),
    post(`/${token.slice(1)}/encode`, body),
    post('/encode', body, { Authorization: `Bearer ${token}x` }),
  ].map(async (r) => (await r).status));
  expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
});

test('a browser on another origin gets 403 even with the token; the UI origin gets CORS headers', async () => {
  const body = await encrypted({ n: 1 });
  const evil = await post('/decode', body, { ...bearer, Origin: 'http://127.0.0.1:9999' });
  expect(evil.status).toBe(403);
  expect(evil.headers.get('access-control-allow-origin')).toBeNull();

  const ui = await post('/decode', body, { ...bearer, Origin: UI });
  expect(ui.status).toBe(200);
  expect(ui.headers.get('access-control-allow-origin')).toBe(UI);
  // a refusal still carries CORS headers, so the UI can tell the SRE it was a 401
  const refused = await post('/decode', body, { Origin: UI });
  expect([refused.status, refused.headers.get('access-control-allow-origin')]).toEqual([401, UI]);
});

test('preflight: the UI origin may POST with the headers the Web UI sends; other origins may not', async () => {
  const preflight = (origin: string) =>
    fetch(`${base}/${token}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace' },
    });
  const ok = await preflight(UI);
  expect(ok.status).toBe(204);
  expect(ok.headers.get('access-control-allow-origin')).toBe(UI);
  expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
  const allowed = ok.headers.get('access-control-allow-headers')!.toLowerCase();
  for (const h of ['content-type', 'authorization', 'x-namespace']) expect(allowed).toContain(h);
  expect(ok.headers.get('vary')).toBe('Origin');

  const evil = await preflight('https://evil.example');
  expect(evil.status).toBe(403);
  expect(evil.headers.get('access-control-allow-origin')).toBeNull();
});

test('a payload under an unknown key stays encrypted while the others decode; bad requests get 4xx', async () => {
  const foreign = jsonOf(await new AesGcmPayloadCodec({ id: 'old', key: randomBytes(32) }).encode([defaultPayloadConverter.toPayload(1)]));
  const mine = await encrypted(2);
  const res = await post('/decode', { payloads: [...foreign.payloads, ...mine.payloads] }, bearer);
  const out = ((await res.json()) as { payloads: JsonPayload[] }).payloads;
  expect(out[0]).toEqual(foreign.payloads[0]);
  expect(valueOf(out[1]!)).toBe(2);

  expect((await post('/decode', { payloads: [{ data: 'not base64!' }] }, bearer)).status).toBe(400);
  expect((await fetch(`${base}/decode`, { method: 'POST', headers: bearer, body: '{' })).status).toBe(400);
  expect((await post('/other', {}, bearer)).status).toBe(404);
  expect((await fetch(`${base}/decode`, { headers: bearer })).status).toBe(405);
});

test('its log has one line per request and neither payloads, sealed values, nor the token', () => {
  const lines = logs.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.filter((l) => l.msg === 'codec request').length).toBeGreaterThan(15);
  expect(lines.some((l) => l.status === 401 && l.level === 40)).toBe(true);
  for (const secret of [token, password, 'sealed:v', 'a@b.test', token.slice(1)]) expect(logs).not.toContain(secret);
});

test('the shared logger redacts secrets by field name, up to two levels deep', () => {
  let line = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      line += chunk.toString();
      done();
    },
  });
  createLogger('info', 'test', sink).info(
    { mailbox: 'a@b.test', step: 'verifyMeu', password, token, settings: { apiKey: token, admin: { password } }, csv: 'x,y' },
    'with secrets',
  );
  const logged = JSON.parse(line) as Record<string, unknown>;
  expect(logged).toMatchObject({ mailbox: 'a@b.test', step: 'verifyMeu', password: '[redacted]', token: '[redacted]', csv: '[redacted]' });
  expect(logged.settings).toEqual({ apiKey: '[redacted]', admin: { password: '[redacted]' } });
});

test('configuration: the token is required, origins must be exact, and no value is echoed', () => {
  const fail = (env: NodeJS.ProcessEnv) => {
    try {
      loadCodecServerEnv(env);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('expected a configuration error');
  };
  expect(fail({})).toMatch(/MAILFERRY_CODEC_SERVER_TOKEN: required/);
  expect(fail({ MAILFERRY_CODEC_SERVER_TOKEN: 'short-secret' })).not.toContain('short-secret');
  expect(fail({ MAILFERRY_CODEC_SERVER_TOKEN: token, MAILFERRY_CODEC_SERVER_CORS_ORIGIN: 'http://127.0.0.1:8080/' })).toMatch(
    /MAILFERRY_CODEC_SERVER_CORS_ORIGIN: .*trailing slash/,
  );
  expect(fail({ MAILFERRY_CODEC_SERVER_TOKEN: token, MAILFERRY_CODEC_SERVER_CORS_ORIGIN: '*' })).toMatch(/CORS_ORIGIN/);
  const env = loadCodecServerEnv({ MAILFERRY_CODEC_SERVER_TOKEN: token, MAILFERRY_CODEC_SERVER_CORS_ORIGIN: 'http://127.0.0.1:8080, https://ui.example.com' });
  expect([env.MAILFERRY_CODEC_SERVER_PORT, env.MAILFERRY_CODEC_SERVER_HOST, env.MAILFERRY_CODEC_SERVER_CORS_ORIGIN]).toEqual([
    8888,
    '127.0.0.1',
    ['http://127.0.0.1:8080', 'https://ui.example.com'],
  ]);
});

test("the Temporal CLI's own codec client reads a real history through it (decoded, sealed values redacted)", async () => {
  const env = labEnv();
  const session = await testSession();
  const lab = createCodecServer({ codec: loadCodec(env).codec, token, origins: [UI], logger: createLogger('silent', 'test') });
  await new Promise<void>((resolve) => lab.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(lab.address() as AddressInfo).port}`;
  // no worker polls this queue: the run only needs to exist with its encrypted input
  const address = `${uniqueName('codec-cli')}@tailspintoys.com`;
  const handle = await session.client.workflow.start('mailboxWorkflow', {
    taskQueue: uniqueName('codec-cli-queue'),
    workflowId: uniqueName('codec-cli'),
    args: [{ address, password: session.secrets.seal('codec-cli', password) }],
  });
  try {
    const temporal = (await run('bash', [join(ROOT, 'scripts/ensure-temporal-cli.sh')])).stdout.trim();
    const show = (...codecArgs: string[]) =>
      run(temporal, ['workflow', 'show', '-w', handle.workflowId, '--output', 'json', '--address', TEMPORAL, ...codecArgs]);
    const inputOf = async (...codecArgs: string[]) => {
      const history = JSON.parse((await show(...codecArgs)).stdout) as {
        events: { workflowExecutionStartedEventAttributes?: { input: { payloads: JsonPayload[] } } }[];
      };
      const [input] = history.events[0]!.workflowExecutionStartedEventAttributes!.input.payloads;
      return { encoding: Buffer.from(input!.metadata!.encoding!, 'base64').toString(), data: Buffer.from(input!.data!, 'base64').toString() };
    };
    const decoded = await inputOf('--codec-endpoint', endpoint, '--codec-auth', `Bearer ${token}`);
    expect(decoded.encoding).toBe('json/plain');
    expect(JSON.parse(decoded.data)).toEqual({ address, password: '[sealed]' });
    // without the codec server the history holds ciphertext only
    const raw = await inputOf();
    expect(raw.encoding).toBe('binary/encrypted');
    expect(raw.data).not.toContain(address);
  } finally {
    await handle.terminate('test done');
    await new Promise((resolve) => lab.close(resolve));
    await session.close();
  }
});
