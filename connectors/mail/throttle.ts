/**
 * Riding out a server that pushes back: throttling replies, connection
 * limits, dropped sessions and timeouts. The copy reconnects after an
 * exponential, capped back-off and resumes from its in-memory checkpoint;
 * only a server that stays unusable for a bounded time fails the copy, and
 * then with a retryable error so the workflow tries again later.
 */
import { MailferryError } from '../../shared/errors';
import { imapErrorOf } from './connect';

export interface RetryPolicy {
  /** first back-off */
  baseMs: number;
  /** longest single back-off */
  capMs: number;
  /** give up when the copy made no progress for this long */
  maxStallMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { baseMs: 1_000, capMs: 30_000, maxStallMs: 5 * 60_000 };

const transientCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ETIMEOUT',
  'CONNECT_TIMEOUT',
  'GREETING_TIMEOUT',
  'NoConnection',
  'EConnectionClosed',
  'ClosedAfterConnectText',
  'ETHROTTLE',
  'LockTimeout',
]);

/** Response codes by which a server says "not now" (RFC 5530). */
const busyResponse = /\[(UNAVAILABLE|INUSE|LIMIT|SERVERBUG|OVERQUOTA_TEMP)\]|throttl|too many|try again/i;

export function isTransient(err: unknown): boolean {
  if (err instanceof MailferryError) return !err.permanent;
  const e = imapErrorOf(err) as { code?: string; responseText?: string; reason?: string; message?: string };
  if (e.code && transientCodes.has(e.code)) return true;
  return busyResponse.test(`${e.responseText ?? ''} ${e.reason ?? ''}`);
}

/** Exchange Online's refusal, as a tagged NO or BAD: "Request is throttled. Suggested Backoff Time: 299961 milliseconds". */
const EXCHANGE_BACKOFF = /Request is throttled\.?\s*Suggested Backoff Time:?\s*(\d+)\s*milliseconds/i;

/** The backoff Exchange suggested in the error's response text, if it is a throttling reply. */
export function suggestedBackoffMs(err: unknown): number | undefined {
  const e = imapErrorOf(err) as { responseText?: string };
  const match = EXCHANGE_BACKOFF.exec(e.responseText ?? '');
  return match ? Number(match[1]) : undefined;
}

/** A server saying "not now" to the command: a retry later heals it, the message itself is fine. */
export function isThrottled(err: unknown): boolean {
  return imapErrorOf(err).code === 'ETHROTTLE' || suggestedBackoffMs(err) !== undefined;
}

/**
 * Milliseconds still to wait before the next command, as the server asked.
 * imapflow parses Exchange's hint and waits part of it itself before it
 * rejects (throttleWaited); a hint it did not parse is waited in full here.
 */
export function serverHintMs(err: unknown): number {
  const e = imapErrorOf(err) as { throttleReset?: number; throttleWaited?: number };
  if (e.throttleReset !== undefined) return Math.max(0, e.throttleReset - (e.throttleWaited ?? 0));
  return suggestedBackoffMs(err) ?? 0;
}

export function backoffMs(policy: RetryPolicy, attempt: number, hintMs = 0): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
  // Jitter spreads parallel copies that were cut off together.
  return Math.max(hintMs, exp / 2 + Math.random() * (exp / 2));
}

export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : Object.assign(new Error('The copy was cancelled'), { name: 'AbortError' });
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds. A transient failure is retried after a
 * back-off; `progressed()` tells whether the failed attempt moved the
 * checkpoint, which restarts the stall clock and the back-off.
 */
export async function withReconnect<T>(
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  progressed: () => boolean,
  signal?: AbortSignal,
  onReconnect?: (info: { reason: string; waitMs: number }) => void,
): Promise<T> {
  let failures = 0;
  let stalledSince = Date.now();
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      if (!isTransient(err)) throw err;
      if (progressed()) {
        failures = 0;
        stalledSince = Date.now();
      }
      const wait = backoffMs(policy, failures++, serverHintMs(err));
      if (Date.now() + wait - stalledSince > policy.maxStallMs) {
        throw new MailferryError(
          'COPY_FAILED',
          `The mail server kept refusing or dropping the session for ${Math.round((Date.now() - stalledSince) / 1000)} s: ${(err as Error).message}`,
          { permanent: false, cause: err },
        );
      }
      const said = imapErrorOf(err).responseText;
      onReconnect?.({ reason: `${(err as Error).message ?? String(err)}${said ? `: ${said}` : ''}`, waitMs: wait });
      await sleep(wait, signal);
    }
  }
}
