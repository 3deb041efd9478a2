/**
 * Sealed secrets: CSV passwords and the admin password travel through
 * Temporal as ciphertext that only activities open. The payload codec already
 * encrypts whole payloads, but a codec server decodes them for the Web UI;
 * sealing keeps the passwords unreadable even there.
 *
 * The sealing key is derived (HKDF) from the codec key, so client and worker
 * need one key file between them, yet a sealed value and a payload never share
 * a key.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SealedSecretError extends Error {
  readonly code = 'SEALED_SECRET_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'SealedSecretError';
  }
}

export interface SecretBox {
  seal(plaintext: string): string;
  unseal(sealed: string): string;
  isSealed(value: string): boolean;
}

export function createSecretBox(codecKey: Buffer, keyId: string): SecretBox {
  if (codecKey.length !== 32) throw new SealedSecretError('The codec key must be 32 bytes');
  const key = Buffer.from(hkdfSync('sha256', codecKey, Buffer.alloc(0), 'mailferry sealed secrets v1', 32));
  const isSealed = (value: string) => value.startsWith(PREFIX);
  return {
    isSealed,
    seal(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(keyId));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${PREFIX}${keyId}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
    },
    unseal(sealed) {
      if (!isSealed(sealed)) throw new SealedSecretError('Expected a sealed secret, got something else');
      const rest = sealed.slice(PREFIX.length);
      const colon = rest.indexOf(':');
      const sealedKeyId = rest.slice(0, colon);
      if (colon < 0 || sealedKeyId !== keyId) {
        throw new SealedSecretError(
          `The secret was sealed with key "${sealedKeyId}" but this process holds key "${keyId}": give it the same MAILFERRY_CODEC_KEY as the client`,
        );
      }
      const raw = Buffer.from(rest.slice(colon + 1), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(keyId));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new SealedSecretError('A sealed secret failed authentication: it was altered or sealed with another key');
      }
    },
  };
}
