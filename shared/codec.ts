import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { CodecError, loadCodecKeyring, type CodecKey, type CodecKeyring } from './codecKey';

export { CodecError, type CodecErrorCode, type CodecKey, type CodecKeyring } from './codecKey';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (value: string) => new TextEncoder().encode(value);
const text = (bytes: Uint8Array | null | undefined) => (bytes ? new TextDecoder().decode(bytes) : undefined);

/**
 * Encrypts every payload (workflow inputs, results, signals, heartbeat
 * details, encoded failures) with AES-256-GCM before it reaches the Temporal
 * server. The key id travels in the metadata and is bound to the ciphertext
 * as associated data; older keys can be listed for reading during a rotation.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;
  constructor(
    private readonly current: CodecKey,
    previous: readonly CodecKey[] = [],
  ) {
    this.keys = new Map([...previous, current].map(({ id, key }) => [id, key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(utf8(this.current.id));
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(this.current.id) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Plaintext passes through here (the client and the codec server read what the server itself wrote);
      // the worker refuses it where it would act on it (worker/payloadGate.ts).
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
      const key = keyId === undefined ? undefined : this.keys.get(keyId);
      if (keyId === undefined || key === undefined) {
        throw new CodecError(
          'UNKNOWN_KEY_ID',
          `A payload is encrypted with key id ${JSON.stringify(keyId ?? '(none)')}, which this process does not have (it has: ${[...this.keys.keys()].join(', ')}). ` +
            'Give the worker, client and codec server the same MAILFERRY_CODEC_KEY_ID and key, and every earlier key in MAILFERRY_CODEC_PREVIOUS_KEYS.',
        );
      }
      const data = payload.data ?? new Uint8Array();
      if (data.length < IV_BYTES + TAG_BYTES) {
        throw new CodecError('DECRYPT_FAILED', `An encrypted payload (key id ${keyId}) is truncated; it cannot be decrypted.`);
      }
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(utf8(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new CodecError(
          'DECRYPT_FAILED',
          `An encrypted payload (key id ${keyId}) failed authentication: it was altered, or the key for that id is not the one it was written with.`,
        );
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** by path: the workflow bundle (worker/workflowBundle.ts) needs a module, not an object */
export const FAILURE_CONVERTER_PATH = require.resolve('./failureConverter');

/** The data converter for both the client and the worker (failure messages are encrypted too). */
export function dataConverterOptions(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** The codec for the keys configured in the environment (see loadCodecKeyring); the keyring is returned for sealed secrets. */
export function loadCodec(env: NodeJS.ProcessEnv = process.env): { codec: AesGcmPayloadCodec; keyring: CodecKeyring } {
  const keyring = loadCodecKeyring(env);
  return { codec: new AesGcmPayloadCodec(keyring.current, keyring.previous), keyring };
}
