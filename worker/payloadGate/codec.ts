/**
 * The worker's payload codec: mailferry's AES-GCM codec, except that a payload
 * it cannot authenticate (plaintext, an unknown key id, a failed tag) becomes
 * a refusal marker (refused.ts) instead of an error. An error here would fail
 * the workflow task, and a forged signal stays in history, so every retry
 * would hit it again: anyone able to signal could wedge an organisation. The
 * marker lets the workflow interceptors refuse the one call it came with.
 *
 * Only the worker's Worker uses this; its Client (the ledger) and the CLI read
 * with the plain codec.
 */
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { CodecError, ENCRYPTED_ENCODING, type AesGcmPayloadCodec } from '../../shared/codec';
import { REFUSED_FIELD, type RefusalReason } from './refused';

const marker = (reason: RefusalReason): Payload => ({
  metadata: { [METADATA_ENCODING_KEY]: new TextEncoder().encode('json/plain') },
  data: new TextEncoder().encode(JSON.stringify({ [REFUSED_FIELD]: reason })),
});

const isEncrypted = (payload: Payload) =>
  payload.metadata?.[METADATA_ENCODING_KEY] !== undefined &&
  new TextDecoder().decode(payload.metadata[METADATA_ENCODING_KEY]) === ENCRYPTED_ENCODING;

export class PayloadGateCodec implements PayloadCodec {
  constructor(private readonly inner: AesGcmPayloadCodec) {}

  encode(payloads: Payload[]): Promise<Payload[]> {
    return this.inner.encode(payloads);
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        if (!isEncrypted(payload)) return marker('unencrypted');
        try {
          return (await this.inner.decode([payload]))[0]!;
        } catch (err) {
          if (!(err instanceof CodecError)) throw err;
          return marker(err.code === 'UNKNOWN_KEY_ID' ? 'unknownKey' : 'forged');
        }
      }),
    );
  }
}
