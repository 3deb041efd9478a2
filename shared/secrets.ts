/**
 * Sealed secrets: CSV passwords and the admin password travel through
 * Temporal as ciphertext that only activities open. The payload codec already
 * encrypts whole payloads, but a codec server decodes them for the Web UI;
 * sealing keeps the passwords unreadable even there.
 *
 * A sealed value is bound to one organisation (AES-GCM associated data), so a
 * value copied out of one organisation's history opens nowhere else. The
 * sealing key is derived (HKDF) from the codec key of the same id, so client
 * and worker need one key file between them, yet a sealed value and a payload
 * never share a key; values sealed under an earlier key open while that key
 * is still listed (key rotation).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { CodecKeyring } from './codecKey';

/** `sealed:v2:<keyId>:<org>:<base64>` */
const PREFIX = 'sealed:v2:';
const OLD_PREFIX = 'sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** an organisation name as it appears in workflow IDs: no separator, nothing to escape */
const ORG = /^[A-Za-z0-9._-]{1,100}$/;

export type SealedSecretErrorCode = 'SEALED_SECRET_INVALID' | 'SEALED_FOR_OTHER_ORG' | 'SEALED_KEY_UNKNOWN' | 'SEALED_UNBOUND';

export class SealedSecretError extends Error {
  constructor(
    readonly code: SealedSecretErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SealedSecretError';
  }
}

export interface SecretBox {
  seal(org: string, plaintext: string): string;
  /** opens a value sealed for `org`; anything else (another organisation, altered, unknown key) throws SealedSecretError */
  unseal(org: string, sealed: string): string;
  isSealed(value: string): boolean;
}

const aad = (keyId: string, org: string) => Buffer.from(`mailferry sealed v2\0${keyId}\0${org}`);

function checkedOrg(org: string): string {
  if (!ORG.test(org)) throw new SealedSecretError('SEALED_SECRET_INVALID', `Cannot seal for the organisation name ${JSON.stringify(org)}.`);
  return org;
}

export function createSecretBox(keyring: CodecKeyring): SecretBox {
  const keys = new Map(
    [keyring.current, ...keyring.previous].map(({ id, key }) => {
      if (key.length !== 32) throw new SealedSecretError('SEALED_SECRET_INVALID', 'The codec key must be 32 bytes');
      return [id, Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'mailferry sealed secrets v1', 32))];
    }),
  );
  const currentId = keyring.current.id;
  const isSealed = (value: string) => value.startsWith(PREFIX) || value.startsWith(OLD_PREFIX);
  return {
    isSealed,
    seal(org, plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', keys.get(currentId)!, iv);
      cipher.setAAD(aad(currentId, checkedOrg(org)));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${PREFIX}${currentId}:${org}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
    },
    unseal(org, sealed) {
      if (sealed.startsWith(OLD_PREFIX)) {
        throw new SealedSecretError(
          'SEALED_UNBOUND',
          'A secret was sealed by an earlier mailferry that did not bind it to its organisation, so it is not accepted: ' +
            'set the connection settings again (`mailferry settings set`) and start the batch again from its CSV.',
        );
      }
      if (!sealed.startsWith(PREFIX)) throw new SealedSecretError('SEALED_SECRET_INVALID', 'Expected a sealed secret, got something else');
      const [keyId = '', sealedOrg = '', body = ''] = sealed.slice(PREFIX.length).split(':');
      if (sealedOrg !== org) {
        throw new SealedSecretError(
          'SEALED_FOR_OTHER_ORG',
          `A secret sealed for organisation ${JSON.stringify(sealedOrg)} was given to organisation ${JSON.stringify(org)}; ` +
            'sealed values never move between organisations: seal it again for this one with the mailferry CLI.',
        );
      }
      const key = keys.get(keyId);
      if (!key) {
        throw new SealedSecretError(
          'SEALED_KEY_UNKNOWN',
          `The secret was sealed with key "${keyId}", which this process does not hold (it has: ${[...keys.keys()].join(', ')}): ` +
            'give it that key as MAILFERRY_CODEC_KEY or in MAILFERRY_CODEC_PREVIOUS_KEYS',
        );
      }
      const raw = Buffer.from(body, 'base64');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
        decipher.setAAD(aad(keyId, org));
        decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new SealedSecretError(
          'SEALED_SECRET_INVALID',
          'A sealed secret failed authentication: it was altered or sealed with another key',
        );
      }
    },
  };
}

/**
 * The organisation a workflow ID belongs to (`<org>`, `<org>/batch/<n>`,
 * `<org>/mailbox/<address>`, …): the worker opens a sealed value only for the
 * organisation of the run that asks, as the server names it, whatever the
 * run's input claims.
 */
export function orgOfWorkflowId(workflowId: string): string {
  return workflowId.split('/')[0]!;
}

/** seal/open for one organisation, fixed by whoever hands it out (the worker: the organisation of the activity's run) */
export interface OrgSecrets {
  seal(plaintext: string): string;
  unseal(sealed: string): string;
}
