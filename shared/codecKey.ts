import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export type CodecErrorCode = 'KEY_MISSING' | 'KEY_INVALID' | 'UNKNOWN_KEY_ID' | 'DECRYPT_FAILED';

/** Never carries key material or payload contents in its message. */
export class CodecError extends Error {
  readonly code: CodecErrorCode;
  constructor(code: CodecErrorCode, message: string) {
    super(message);
    this.name = 'CodecError';
    this.code = code;
  }
}

export interface CodecKey {
  id: string;
  /** 32 bytes, AES-256 */
  key: Buffer;
}

const howToMake = 'Make one with `openssl rand -base64 32`.';
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

const envSchema = z.object({
  MAILFERRY_CODEC_KEY: z.string().trim().min(1).optional(),
  MAILFERRY_CODEC_KEY_FILE: z.string().trim().min(1).optional(),
  MAILFERRY_CODEC_KEY_ID: z
    .string()
    .regex(KEY_ID_PATTERN, 'use 1-64 letters, digits, dots, dashes or underscores')
    .default('default'),
  // empty = none (docker compose passes ${MAILFERRY_CODEC_PREVIOUS_KEYS:-} through)
  MAILFERRY_CODEC_PREVIOUS_KEYS: z.string().trim().optional(),
  MAILFERRY_CODEC_PREVIOUS_KEYS_FILE: z.string().trim().optional(),
});

const keySchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9+/]+={0,2}$/)
  .transform((base64) => Buffer.from(base64, 'base64'))
  .refine((key) => key.length === 32);

/**
 * The payload encryption key from MAILFERRY_CODEC_KEY (base64 of 32 bytes) or
 * MAILFERRY_CODEC_KEY_FILE (a file holding that text, e.g. a Docker secret),
 * with its id from MAILFERRY_CODEC_KEY_ID (default "default").
 */
export function loadCodecKey(env: NodeJS.ProcessEnv = process.env): CodecKey {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new CodecError('KEY_INVALID', `MAILFERRY_CODEC_KEY_ID is invalid: ${parsed.error.issues[0]?.message ?? 'bad value'}.`);
  }
  const { MAILFERRY_CODEC_KEY: inline, MAILFERRY_CODEC_KEY_FILE: file, MAILFERRY_CODEC_KEY_ID: id } = parsed.data;
  if (inline && file) {
    throw new CodecError('KEY_INVALID', 'Both MAILFERRY_CODEC_KEY and MAILFERRY_CODEC_KEY_FILE are set; set only one.');
  }
  if (!inline && !file) {
    throw new CodecError(
      'KEY_MISSING',
      `No payload encryption key: set MAILFERRY_CODEC_KEY (base64 of 32 random bytes) or MAILFERRY_CODEC_KEY_FILE (a file holding it). ${howToMake}`,
    );
  }
  let base64 = inline;
  const source = inline ? 'MAILFERRY_CODEC_KEY' : `the file ${file} (MAILFERRY_CODEC_KEY_FILE)`;
  if (file) {
    try {
      base64 = readFileSync(file, 'utf8');
    } catch (error) {
      throw new CodecError('KEY_MISSING', `Cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}.`);
    }
  }
  const key = keySchema.safeParse(base64);
  if (!key.success) {
    throw new CodecError('KEY_INVALID', `${source} does not hold the base64 text of exactly 32 bytes. ${howToMake}`);
  }
  return { id, key: key.data };
}

/** The key every process encrypts with, and the earlier ones it still decrypts (key rotation). */
export interface CodecKeyring {
  current: CodecKey;
  previous: CodecKey[];
}

/**
 * The current key (loadCodecKey) and the earlier keys from
 * MAILFERRY_CODEC_PREVIOUS_KEYS (`id:base64`, comma-separated) or
 * MAILFERRY_CODEC_PREVIOUS_KEYS_FILE (one `id:base64` per line, `#` comments):
 * payloads and sealed values written under an earlier key stay readable after
 * a rotation (docs/production.md, "Rotating the payload key").
 */
export function loadCodecKeyring(env: NodeJS.ProcessEnv = process.env): CodecKeyring {
  const current = loadCodecKey(env);
  const { MAILFERRY_CODEC_PREVIOUS_KEYS: inline, MAILFERRY_CODEC_PREVIOUS_KEYS_FILE: file } = envSchema.parse(env);
  if (inline && file) {
    throw new CodecError('KEY_INVALID', 'Both MAILFERRY_CODEC_PREVIOUS_KEYS and MAILFERRY_CODEC_PREVIOUS_KEYS_FILE are set; set only one.');
  }
  let entries: string[] = [];
  let source = 'MAILFERRY_CODEC_PREVIOUS_KEYS';
  if (inline) entries = inline.split(',');
  if (file) {
    source = `the file ${file} (MAILFERRY_CODEC_PREVIOUS_KEYS_FILE)`;
    try {
      entries = readFileSync(file, 'utf8').split('\n');
    } catch (error) {
      throw new CodecError('KEY_MISSING', `Cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}.`);
    }
  }
  const previous: CodecKey[] = [];
  entries
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !entry.startsWith('#'))
    .forEach((entry, index) => {
      const colon = entry.indexOf(':');
      const id = entry.slice(0, Math.max(colon, 0));
      const key = keySchema.safeParse(entry.slice(colon + 1));
      // the entry itself is never quoted: it holds a key
      if (colon < 1 || !KEY_ID_PATTERN.test(id) || !key.success) {
        throw new CodecError('KEY_INVALID', `Entry ${index + 1} of ${source} is not \`<key id>:<base64 of 32 bytes>\`.`);
      }
      if (id === current.id) {
        throw new CodecError('KEY_INVALID', `${source} lists key id ${id}, which is the current MAILFERRY_CODEC_KEY_ID; give every key its own id.`);
      }
      if (previous.some((p) => p.id === id)) throw new CodecError('KEY_INVALID', `${source} lists key id ${id} twice.`);
      previous.push({ id, key: key.data });
    });
  return { current, previous };
}

/**
 * For the lab and the demo only: makes `<dir>/codec.key` (mode 600) when it
 * does not exist yet and returns its path, for MAILFERRY_CODEC_KEY_FILE.
 * An existing key is never replaced: runs encrypted with it must stay readable.
 */
export function ensureDevCodecKey(dir: string): string {
  const path = join(dir, 'codec.key');
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(path, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return path;
}
