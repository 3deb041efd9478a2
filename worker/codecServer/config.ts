/**
 * The codec server's configuration, from the environment, validated at start
 * so a missing token or a malformed origin fails with the variable's name.
 * The payload key itself comes from the same variables as the worker's
 * (MAILFERRY_CODEC_KEY / _FILE / _ID, see shared/codecKey.ts).
 */
import { z } from 'zod';

/** The token can travel as a URL path segment (see server.ts), so it is limited to URL-safe characters. */
export const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{32,256}$/;

const origin = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
    } catch {
      return false;
    }
  }, 'each origin is scheme://host[:port] exactly as the browser shows the Web UI, without a path, a trailing slash or *');

export const codecServerEnvSchema = z.object({
  /** 0 picks a free port (tests read it from the "listening" log line) */
  MAILFERRY_CODEC_SERVER_PORT: z.coerce.number().int().min(0).max(65535).default(8888),
  MAILFERRY_CODEC_SERVER_HOST: z.string().trim().min(1).default('127.0.0.1'),
  MAILFERRY_CODEC_SERVER_TOKEN: z
    .string({ error: 'required: the token SREs give the Web UI; make one with `openssl rand -hex 32`' })
    .regex(TOKEN_PATTERN, '32 to 256 letters, digits or ._~- characters; make one with `openssl rand -hex 32`'),
  /** comma-separated: the Web UI origins allowed to call the codec server from a browser */
  MAILFERRY_CODEC_SERVER_CORS_ORIGIN: z
    .string()
    .default('http://127.0.0.1:8233,http://localhost:8233')
    .transform((list) => list.split(',').map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(origin).min(1, 'give at least one origin')),
  /**
   * POST /encode encrypts whatever its caller sends with the payload key, which is what lets a start,
   * signal or update drive mailferry: off, the token only reads. The Web UI needs it for its write
   * actions only, which docker compose turns off.
   */
  MAILFERRY_CODEC_SERVER_ENCODE: z.enum(['true', 'false', '1', '0']).default('false').transform((v) => v === 'true' || v === '1'),
  MAILFERRY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export type CodecServerEnv = z.infer<typeof codecServerEnvSchema>;

export class CodecServerConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(issues: string[]) {
    super(`The codec server's environment is not valid:\n${issues.map((i) => `  - ${i}`).join('\n')}\nSee .env.example.`);
    this.name = 'CodecServerConfigError';
  }
}

export function loadCodecServerEnv(env: NodeJS.ProcessEnv = process.env): CodecServerEnv {
  const parsed = codecServerEnvSchema.safeParse(env);
  if (!parsed.success) {
    // names and rules only: a value may be the token
    throw new CodecServerConfigError(parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`));
  }
  return parsed.data;
}
