import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { decodeFailure, encodeFailure, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { AesGcmPayloadCodec, CodecError, dataConverterOptions, ENCRYPTED_ENCODING, KEY_ID_METADATA, loadCodec } from '../shared/codec';
import { ensureDevCodecKey, loadCodecKey, loadCodecKeyring, type CodecKey } from '../shared/codecKey';
import { createSecretBox, SealedSecretError } from '../shared/secrets';
import { PayloadGateCodec } from '../worker/payloadGate/codec';
import { REFUSED_FIELD } from '../worker/payloadGate/refused';

const secret = 'Hunter2-Secret-Password';
const newKey = (id: string): CodecKey => ({ id, key: randomBytes(32) });
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');

async function codecError(promise: Promise<unknown>): Promise<CodecError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CodecError) return error;
    throw error;
  }
  throw new Error('expected a CodecError');
}

describe('AesGcmPayloadCodec', () => {
  const key = newKey('k1');
  const codec = new AesGcmPayloadCodec(key);
  const plain = () => [defaultPayloadConverter.toPayload({ password: secret, n: 1 }), defaultPayloadConverter.toPayload(undefined)];

  test('round trip gives back the same payloads', async () => {
    const payloads = plain();
    const decoded = await codec.decode(await codec.encode(payloads));
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([{ password: secret, n: 1 }, undefined]);
  });

  test('encoded payloads carry the encoding and key id, and no plaintext', async () => {
    const [encoded] = await codec.encode(plain());
    expect(text(encoded!.metadata![METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
    expect(text(encoded!.metadata![KEY_ID_METADATA])).toBe('k1');
    const wire = Buffer.from(temporal.api.common.v1.Payload.encode(encoded!).finish());
    expect(wire.includes(secret)).toBe(false);
    expect(wire.includes('json/plain')).toBe(false);
  });

  test('the same value encrypts differently each time (random IV)', async () => {
    const [a] = await codec.encode(plain());
    const [b] = await codec.encode(plain());
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  test('an unknown key id is refused with a clear error', async () => {
    const encoded = await new AesGcmPayloadCodec(newKey('other')).encode(plain());
    const error = await codecError(codec.decode(encoded));
    expect(error.code).toBe('UNKNOWN_KEY_ID');
    expect(error.message).toMatch(/key id "other".*it has: k1/);
  });

  test('the same id with a different key fails authentication', async () => {
    const encoded = await new AesGcmPayloadCodec({ id: 'k1', key: randomBytes(32) }).encode(plain());
    expect((await codecError(codec.decode(encoded))).code).toBe('DECRYPT_FAILED');
  });

  test('tampering with the ciphertext, the tag or the key id is detected', async () => {
    const [encoded] = await codec.encode(plain());
    for (const at of [0, 20, encoded!.data!.length - 1]) {
      const data = Buffer.from(encoded!.data!);
      data[at]! ^= 0x01;
      expect((await codecError(codec.decode([{ ...encoded!, data }]))).code).toBe('DECRYPT_FAILED');
    }
    // A payload relabelled with another key id the reader has must not decrypt either.
    const twoKeys = new AesGcmPayloadCodec(newKey('k2'), [key]);
    const relabelled: Payload = { ...encoded!, metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } };
    expect((await codecError(twoKeys.decode([relabelled]))).code).toBe('DECRYPT_FAILED');
    expect((await codecError(codec.decode([{ ...encoded!, data: encoded!.data!.subarray(0, 10) }]))).code).toBe('DECRYPT_FAILED');
  });

  test('a rotated codec still reads payloads written with a previous key', async () => {
    const encoded = await codec.encode(plain());
    const rotated = new AesGcmPayloadCodec(newKey('k2'), [key]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode(encoded))[0]!)).toEqual({ password: secret, n: 1 });
    expect(text((await rotated.encode(plain()))[0]!.metadata![KEY_ID_METADATA])).toBe('k2');
  });

  test('payloads that were never encrypted pass through decode', async () => {
    const payloads = plain();
    expect(await codec.decode(payloads)).toEqual(payloads);
  });
});

describe('failure messages are encrypted too', () => {
  test('the data converter encodes a failure message and stack into an encrypted payload', async () => {
    const codec = new AesGcmPayloadCodec(newKey('k1'));
    const loaded = loadDataConverter(dataConverterOptions(codec));
    const failure = loaded.failureConverter.errorToFailure(ApplicationFailure.create({ message: `login failed for ${secret}` }), loaded.payloadConverter);
    const encoded = await encodeFailure(loaded.payloadCodecs, failure);
    const wire = Buffer.from(temporal.api.failure.v1.Failure.encode(encoded).finish());
    expect(encoded.message).toBe('Encoded failure');
    expect(wire.includes(secret)).toBe(false);
    const decoded = loaded.failureConverter.failureToError(await decodeFailure(loaded.payloadCodecs, encoded), loaded.payloadConverter);
    expect(decoded.message).toBe(`login failed for ${secret}`);
  });
});

describe('key loading', () => {
  const base64 = randomBytes(32).toString('base64');
  const dir = mkdtempSync(join(tmpdir(), 'mailferry-codec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('MAILFERRY_CODEC_KEY, with the default key id', () => {
    const key = loadCodecKey({ MAILFERRY_CODEC_KEY: base64 });
    expect(key.id).toBe('default');
    expect(key.key.toString('base64')).toBe(base64);
  });

  test('MAILFERRY_CODEC_KEY_FILE and MAILFERRY_CODEC_KEY_ID', () => {
    const file = join(dir, 'secret.key');
    writeFileSync(file, `${base64}\n`);
    expect(loadCodecKey({ MAILFERRY_CODEC_KEY_FILE: file, MAILFERRY_CODEC_KEY_ID: '2026-11' })).toEqual({ id: '2026-11', key: Buffer.from(base64, 'base64') });
    const { codec, keyring } = loadCodec({ MAILFERRY_CODEC_KEY_FILE: file });
    expect(codec).toBeInstanceOf(AesGcmPayloadCodec);
    expect([keyring.current.key.toString('base64'), keyring.current.id, keyring.previous]).toEqual([base64, 'default', []]);
  });

  test('missing, doubled, unreadable or malformed keys are refused without printing the key', () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{}, 'KEY_MISSING'],
      [{ MAILFERRY_CODEC_KEY: base64, MAILFERRY_CODEC_KEY_FILE: '/x' }, 'KEY_INVALID'],
      [{ MAILFERRY_CODEC_KEY_FILE: join(dir, 'absent.key') }, 'KEY_MISSING'],
      [{ MAILFERRY_CODEC_KEY: randomBytes(16).toString('base64') }, 'KEY_INVALID'],
      [{ MAILFERRY_CODEC_KEY: `${base64}!` }, 'KEY_INVALID'],
      [{ MAILFERRY_CODEC_KEY: base64, MAILFERRY_CODEC_KEY_ID: 'has space' }, 'KEY_INVALID'],
    ];
    for (const [env, code] of cases) {
      let caught: unknown;
      try {
        loadCodecKey(env);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CodecError);
      expect((caught as CodecError).code).toBe(code);
      expect((caught as CodecError).message).not.toContain(base64.slice(0, 12));
    }
  });

  test('ensureDevCodecKey creates a mode-600 key once and never replaces it', () => {
    const stateDir = join(dir, 'state');
    const path = ensureDevCodecKey(stateDir);
    expect(path).toBe(join(stateDir, 'codec.key'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const first = readFileSync(path, 'utf8');
    expect(ensureDevCodecKey(stateDir)).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe(first);
    expect(loadCodecKey({ MAILFERRY_CODEC_KEY_FILE: path }).key).toHaveLength(32);
  });
});

describe('key rotation: earlier keys by id', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailferry-keyring-'));
  const b64 = () => randomBytes(32).toString('base64');
  const current = b64();
  const [old1, old2] = [b64(), b64()];
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('MAILFERRY_CODEC_PREVIOUS_KEYS (inline) and _FILE (one id:key per line, # comments) give the keys to decrypt with', () => {
    const inline = loadCodecKeyring({ MAILFERRY_CODEC_KEY: current, MAILFERRY_CODEC_KEY_ID: 'k3', MAILFERRY_CODEC_PREVIOUS_KEYS: `k1:${old1}, k2:${old2}` });
    expect(inline.current.id).toBe('k3');
    expect(inline.previous.map((k) => [k.id, k.key.toString('base64')])).toEqual([
      ['k1', old1],
      ['k2', old2],
    ]);
    const file = join(dir, 'previous');
    writeFileSync(file, `# retired 2026-11\nk1:${old1}\n\nk2:${old2}\n`);
    expect(loadCodecKeyring({ MAILFERRY_CODEC_KEY: current, MAILFERRY_CODEC_KEY_ID: 'k3', MAILFERRY_CODEC_PREVIOUS_KEYS_FILE: file })).toEqual(inline);
    expect(loadCodecKeyring({ MAILFERRY_CODEC_KEY: current }).previous).toEqual([]);
  });

  test('a malformed, doubled or clashing earlier key is refused without printing it', () => {
    for (const previous of [`k1:${old1.slice(4)}`, `k1 ${old1}`, `k1:${old1},k1:${old2}`, `k3:${old1}`, `:${old1}`]) {
      let caught: unknown;
      try {
        loadCodecKeyring({ MAILFERRY_CODEC_KEY: current, MAILFERRY_CODEC_KEY_ID: 'k3', MAILFERRY_CODEC_PREVIOUS_KEYS: previous });
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: 'KEY_INVALID' });
      expect((caught as Error).message).not.toContain(old1.slice(8, 20));
    }
  });

  test('after a rotation, payloads and sealed values of the old key still open; new ones use the new key', async () => {
    const k1 = newKey('k1');
    const k2 = newKey('k2');
    const before = new AesGcmPayloadCodec(k1);
    const after = new AesGcmPayloadCodec(k2, [k1]);
    const [old] = await before.encode([defaultPayloadConverter.toPayload({ n: 1 })]);
    expect(defaultPayloadConverter.fromPayload((await after.decode([old!]))[0]!)).toEqual({ n: 1 });
    const [fresh] = await after.encode([defaultPayloadConverter.toPayload({ n: 2 })]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('k2');
    const sealedBefore = createSecretBox({ current: k1, previous: [] }).seal('contoso', secret);
    const rotated = createSecretBox({ current: k2, previous: [k1] });
    expect(rotated.unseal('contoso', sealedBefore)).toBe(secret);
    expect(rotated.seal('contoso', secret)).toMatch(/^sealed:v2:k2:contoso:/);
    expect(() => createSecretBox({ current: k2, previous: [] }).unseal('contoso', sealedBefore)).toThrow(/sealed with key "k1", which this process does not hold/);
  });
});

describe('sealed values are bound to their organisation', () => {
  const box = createSecretBox({ current: newKey('k1'), previous: [] });
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      if (error instanceof SealedSecretError) return error;
      throw error;
    }
    throw new Error('expected a SealedSecretError');
  };

  test('a value sealed for one organisation opens for it only, with a clear error elsewhere', () => {
    const sealed = box.seal('contoso', secret);
    expect(sealed).not.toContain(secret);
    expect(box.unseal('contoso', sealed)).toBe(secret);
    const other = refusal(() => box.unseal('fabrikam', sealed));
    expect(other.code).toBe('SEALED_FOR_OTHER_ORG');
    expect(other.message).toMatch(/^A secret sealed for organisation "contoso" was given to organisation "fabrikam"/);
  });

  test('rewriting the organisation in the text does not help: it is authenticated (AES-GCM associated data)', () => {
    const forged = box.seal('contoso', secret).replace(':contoso:', ':fabrikam:');
    expect(refusal(() => box.unseal('fabrikam', forged)).code).toBe('SEALED_SECRET_INVALID');
  });

  test('values sealed before the binding (sealed:v1) are refused with what to do', () => {
    expect(refusal(() => box.unseal('contoso', 'sealed:v1:k1:AAAA')).message).toMatch(/did not bind it to its organisation.*mailferry settings set/);
  });
});

describe("the worker's payload gate codec", () => {
  const key = newKey('default');
  const gate = new PayloadGateCodec(new AesGcmPayloadCodec(key));
  const reason = (p: Payload) => (defaultPayloadConverter.fromPayload(p) as Record<string, unknown>)[REFUSED_FIELD];

  test('passes what it can authenticate and marks plaintext, unknown key ids and forged ciphertext', async () => {
    const [good] = await gate.encode([defaultPayloadConverter.toPayload({ n: 1 })]);
    const [foreign] = await new AesGcmPayloadCodec(newKey('other')).encode([defaultPayloadConverter.toPayload(1)]);
    const [otherKeySameId] = await new AesGcmPayloadCodec(newKey('default')).encode([defaultPayloadConverter.toPayload(1)]);
    const decoded = await gate.decode([good!, defaultPayloadConverter.toPayload({ n: 1 }), foreign!, otherKeySameId!]);
    expect(defaultPayloadConverter.fromPayload(decoded[0]!)).toEqual({ n: 1 });
    expect(decoded.slice(1).map(reason)).toEqual(['unencrypted', 'unknownKey', 'forged']);
  });
});

describe('against the Temporal dev server (scripts/temporal-up.sh)', () => {
  const address = `127.0.0.1:${process.env.MAILFERRY_TEMPORAL_PORT ?? '7233'}`;
  let connection: Connection;
  beforeAll(async () => {
    connection = await Connection.connect({ address });
  });
  afterAll(async () => {
    await connection?.close();
  });

  test('workflow input is stored encrypted: the server history never holds the secret', async () => {
    const codec = new AesGcmPayloadCodec(newKey('k1'));
    const client = new Client({ connection, dataConverter: dataConverterOptions(codec) });
    // No worker polls this queue: the run only has to be recorded, not executed.
    const handle = await client.workflow.start('codecProbe', {
      taskQueue: `codec-test-${randomUUID()}`,
      workflowId: `codec-test/${randomUUID()}`,
      args: [{ password: secret }],
      memo: { note: secret },
    });
    try {
      const history = await handle.fetchHistory();
      const wire = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
      expect(wire.includes(secret)).toBe(false);
      const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      expect(text(input.metadata![METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
      const [decoded] = await codec.decode([input]);
      expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({ password: secret });
    } finally {
      await handle.terminate('codec test done');
    }
  });
});
