/** Structured logs (pino) with secrets redacted by path, whatever a caller passes. */
import pino from 'pino';

export function createLogger(level: string) {
  return pino({
    level,
    base: { service: 'mailferry-worker' },
    redact: { paths: ['password', '*.password', '*.*.password', 'pass', '*.pass', 'csv', '*.csv'], censor: '[redacted]' },
  });
}
