/**
 * Structured logs (pino) with secrets redacted by path, whatever a caller
 * passes: passwords, CSV contents (they hold passwords), tokens and keys.
 */
import pino from 'pino';

const SECRET_FIELDS = ['password', 'pass', 'csv', 'token', 'apiKey', 'authorization', 'key'];

export const redactedPaths = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);

export function createLogger(level: string, service = 'mailferry-worker', destination?: pino.DestinationStream) {
  return pino({ level, base: { service }, redact: { paths: redactedPaths, censor: '[redacted]' } }, destination);
}
