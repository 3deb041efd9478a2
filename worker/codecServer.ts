/**
 * The codec server process for the Temporal Web UI: `npx tsx worker/codecServer.ts`.
 * Reads the same payload key as the worker and the codec server settings
 * (worker/codecServer/config.ts), listens until SIGINT/SIGTERM.
 */
import type { AddressInfo } from 'node:net';
import { loadCodec } from '../shared/codec';
import { loadCodecServerEnv } from './codecServer/config';
import { createCodecServer } from './codecServer/server';
import { createLogger } from './logger';

async function main(): Promise<void> {
  const env = loadCodecServerEnv();
  const logger = createLogger(env.MAILFERRY_LOG_LEVEL, 'mailferry-codec-server');
  const { codec, keyring } = loadCodec(process.env);
  const origins = env.MAILFERRY_CODEC_SERVER_CORS_ORIGIN;
  const server = createCodecServer({ codec, token: env.MAILFERRY_CODEC_SERVER_TOKEN, origins, logger, allowEncode: env.MAILFERRY_CODEC_SERVER_ENCODE });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.MAILFERRY_CODEC_SERVER_PORT, env.MAILFERRY_CODEC_SERVER_HOST, resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  logger.info({ host: address, port, origins, keyId: keyring.current.id, previousKeyIds: keyring.previous.map((k) => k.id) }, 'codec server listening');
  const stop = () => {
    server.close(() => logger.info('codec server stopped'));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`mailferry codec server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
