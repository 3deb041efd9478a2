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

const envSchema = z.object({
  MAILFERRY_CODEC_KEY: z.string().trim().min(1).optional(),
  MAILFERRY_CODEC_KEY_FILE: z.string().trim().min(1).optional(),
  MAILFERRY_CODEC_KEY_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'use 1-64 letters, digits, dots, dashes or underscores')
    .default('default'),
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
