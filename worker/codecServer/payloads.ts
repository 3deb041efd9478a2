/**
 * Temporal's remote codec protocol: `{"payloads": [{"metadata": {k: base64},
 * "data": base64}]}` in and out (the proto JSON form of Payloads), and the
 * redaction applied to what the Web UI is shown.
 */
import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { z } from 'zod';

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'not base64');

export const payloadsBodySchema = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), base64).nullish(),
      data: base64.nullish(),
    }),
  ),
});

export type JsonPayload = z.infer<typeof payloadsBodySchema>['payloads'][number];

export function fromJson({ metadata, data }: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(data ?? '', 'base64'),
  };
}

export function toJson({ metadata, data }: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
  };
}

const SEALED_PREFIX = 'sealed:v';
/** a sealed value inside a longer string: prefix, key id (shared/codecKey.ts), organisation (v2), base64 */
const EMBEDDED_SEALED = /sealed:v(?:1|2:[A-Za-z0-9._-]{1,64}):[A-Za-z0-9._-]{1,100}:[A-Za-z0-9+/]*={0,2}/g;
export const SEALED_MARKER = '[sealed]';

function redactValue(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.startsWith(SEALED_PREFIX) ? SEALED_MARKER : value.replace(EMBEDDED_SEALED, SEALED_MARKER);
  }
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v)]));
  }
  return value;
}

/**
 * Passwords are sealed strings inside payloads (shared/secrets.ts): the UI gets
 * a plain marker instead of ciphertext nobody can read anyway, so a screen or
 * a screenshot shows at a glance that a secret was there and was not revealed.
 */
export function redactSealed(payload: Payload): Payload {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  if (!encoding || Buffer.from(encoding).toString() !== 'json/plain' || !payload.data) return payload;
  const text = Buffer.from(payload.data).toString('utf8');
  if (!text.includes(SEALED_PREFIX)) return payload;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return payload;
  }
  return { ...payload, data: Buffer.from(JSON.stringify(redactValue(parsed)), 'utf8') };
}
