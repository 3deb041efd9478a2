/**
 * The codec server the Temporal Web UI (and `temporal --codec-endpoint`) calls
 * to show encrypted payloads decrypted: POST /decode (and /encode, when
 * allowed) with Temporal's remote codec protocol (payloads.ts).
 *
 * Who may call it:
 * - a browser only from the configured Web UI origins (CORS; any other
 *   Origin gets 403 before anything else happens);
 * - any caller only with the token, either as `Authorization: Bearer <token>`
 *   (the Temporal CLI's --codec-auth, scripts) or as the first path segment,
 *   `http://host:8888/<token>` being the endpoint an SRE types into the Web
 *   UI's codec settings: the OSS Web UI sends no header of its own unless it
 *   runs with OIDC login over HTTPS, but it does keep the endpoint's path.
 *
 * Nothing of a payload, and no path (it may hold the token), reaches the log.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CodecError } from '../../shared/codec';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Logger } from 'pino';
import { fromJson, payloadsBodySchema, redactSealed, toJson } from './payloads';

export interface CodecServerOptions {
  codec: PayloadCodec;
  token: string;
  /** exact Web UI origins, e.g. http://127.0.0.1:8233 */
  origins: readonly string[];
  logger: Logger;
  maxBodyBytes?: number;
  /** POST /encode answers only when true: encrypting for a caller lends it the key's power to drive mailferry */
  allowEncode?: boolean;
}

/** The UI decodes a handful of payloads per call, each at most 2 MB (Temporal's own limit). */
const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
const ALLOWED_HEADERS = 'Content-Type, Authorization, Authorization-Extras, X-Namespace';
const OPERATIONS = ['decode', 'encode'] as const;
type Operation = (typeof OPERATIONS)[number];

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

function route(rawUrl: string | undefined): { operation: Operation; pathToken?: string } | undefined {
  const segments = new URL(rawUrl ?? '/', 'http://codec').pathname.split('/').filter(Boolean);
  const operation = segments.at(-1) as Operation;
  if (!OPERATIONS.includes(operation) || segments.length > 2) return undefined;
  return { operation, pathToken: segments.length === 2 ? segments[0] : undefined };
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `The request is larger than ${limit} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

export function createCodecServer(options: CodecServerOptions): Server {
  const { codec, origins, logger } = options;
  const tokenHash = sha256(options.token);
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // Hashing first gives equal lengths, so the comparison time says nothing about the token.
  const isToken = (candidate: string | undefined) => candidate !== undefined && timingSafeEqual(tokenHash, sha256(candidate));

  function authorised(req: IncomingMessage, pathToken: string | undefined): boolean {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    return isToken(bearer) || isToken(pathToken);
  }

  /** One payload that cannot be decrypted (unknown key id, tampering) stays encrypted; the others still show. */
  async function decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        try {
          const [decoded] = await codec.decode([payload]);
          return redactSealed(decoded!);
        } catch (err) {
          if (!(err instanceof CodecError)) throw err;
          logger.warn({ code: err.code }, 'a payload could not be decoded; it is returned still encrypted');
          return payload;
        }
      }),
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse, log: Record<string, unknown>): Promise<void> {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!origins.includes(origin)) throw new HttpError(403, 'This origin may not call the codec server.');
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      log.operation = 'preflight';
      send(res, 204);
      return;
    }
    const target = route(req.url);
    if (!target) throw new HttpError(404, 'Use POST /decode or POST /encode.');
    log.operation = target.operation;
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST, OPTIONS');
      throw new HttpError(405, 'Use POST.');
    }
    if (target.operation === 'encode' && !options.allowEncode) {
      throw new HttpError(403, 'This codec server only decodes: set MAILFERRY_CODEC_SERVER_ENCODE=true to let token holders encrypt.');
    }
    if (!authorised(req, target.pathToken)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="mailferry codec server"');
      throw new HttpError(401, 'A valid codec server token is required (Authorization: Bearer <token>, or the endpoint http://host:port/<token>).');
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, maxBody));
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, 'The body is not JSON.');
    }
    const parsed = payloadsBodySchema.safeParse(body);
    if (!parsed.success) throw new HttpError(400, 'Expected {"payloads": [{"metadata": {...}, "data": "<base64>"}]}.');
    const payloads = parsed.data.payloads.map(fromJson);
    log.payloads = payloads.length;
    const result = target.operation === 'decode' ? await decode(payloads) : await codec.encode(payloads);
    send(res, 200, { payloads: result.map(toJson) });
  }

  return createServer((req, res) => {
    const started = Date.now();
    const log: Record<string, unknown> = { method: req.method, origin: req.headers.origin };
    handle(req, res, log)
      .catch((err: unknown) => {
        if (err instanceof HttpError) {
          // the rest of an oversized body is not read: end the connection rather than leave it half-read
          if (err.status === 413) res.setHeader('Connection', 'close');
          send(res, err.status, { error: err.message });
          return;
        }
        logger.error({ ...log, error: err instanceof Error ? err.name : 'unknown' }, 'codec request failed');
        send(res, 500, { error: 'The codec server failed; see its log.' });
      })
      .finally(() => {
        const level = res.statusCode === 401 || res.statusCode === 403 ? 'warn' : 'info';
        logger[level]({ ...log, status: res.statusCode, ms: Date.now() - started }, 'codec request');
      });
  });
}
