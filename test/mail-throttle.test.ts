import { MailferryError } from '../shared/errors';
import { classifyConnectError, isLoopbackHost } from '../connectors/mail/connect';
import { ByteBoundedQueue } from '../connectors/mail/queue';
import { backoffMs, isTransient, withReconnect } from '../connectors/mail/throttle';

const endpoint = { host: '127.0.0.1', port: 143, secure: false, user: 'a*admin', password: 'pw-secret' };

describe('error classification', () => {
  it('tells a refused password from a busy server and an unreachable one', () => {
    expect(classifyConnectError({ authenticationFailed: true, serverResponseCode: 'AUTHENTICATIONFAILED' }, endpoint)).toMatchObject({ code: 'AUTH_FAILED', permanent: true });
    expect(classifyConnectError({ authenticationFailed: true, serverResponseCode: 'UNAVAILABLE' }, endpoint)).toMatchObject({ code: 'CONNECTION_FAILED', permanent: false });
    const refused = classifyConnectError({ code: 'ECONNREFUSED' }, endpoint) as MailferryError;
    expect(refused).toMatchObject({ code: 'CONNECTION_FAILED', permanent: false });
    expect(refused.message).not.toContain('pw-secret');
  });

  it('retries drops, throttling and busy replies, not refusals of the data', () => {
    expect(isTransient({ code: 'EConnectionClosed' })).toBe(true);
    expect(isTransient({ code: 'ETHROTTLE', throttleReset: 1000 })).toBe(true);
    expect(isTransient({ responseText: '[UNAVAILABLE] Maximum number of connections' })).toBe(true);
    expect(isTransient({ responseText: '[OVERQUOTA] Quota exceeded' })).toBe(false);
    expect(isTransient(new MailferryError('AUTH_FAILED', 'x'))).toBe(false);
  });

  it('knows loopback hosts', () => {
    expect(['127.0.0.1', '127.8.9.1', 'localhost', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['10.0.0.1', 'mail.example.com', '::2'].some(isLoopbackHost)).toBe(false);
  });
});

describe('reconnect loop', () => {
  const policy = { baseMs: 1, capMs: 4, maxStallMs: 50 };

  it('backs off exponentially up to the cap, honouring a server hint', () => {
    expect(backoffMs({ baseMs: 100, capMs: 1000, maxStallMs: 0 }, 0)).toBeLessThanOrEqual(100);
    expect(backoffMs({ baseMs: 100, capMs: 1000, maxStallMs: 0 }, 10)).toBeLessThanOrEqual(1000);
    expect(backoffMs({ baseMs: 100, capMs: 1000, maxStallMs: 0 }, 0, 5000)).toBe(5000);
  });

  it('retries transient failures and returns the eventual result', async () => {
    let calls = 0;
    const result = await withReconnect(policy, async () => {
      if (++calls < 3) throw Object.assign(new Error('dropped'), { code: 'EConnectionClosed' });
      return 'done';
    }, () => false);
    expect([result, calls]).toEqual(['done', 3]);
  });

  it('gives up with a retryable COPY_FAILED when nothing progresses, and rethrows permanent errors at once', async () => {
    const stalled = withReconnect(policy, async () => {
      throw Object.assign(new Error('dropped'), { code: 'ECONNRESET' });
    }, () => false);
    await expect(stalled).rejects.toMatchObject({ code: 'COPY_FAILED', permanent: false });
    let calls = 0;
    const fatal = withReconnect(policy, async () => {
      calls++;
      throw new MailferryError('BAD_ITEM_LIMIT', 'too many');
    }, () => true);
    await expect(fatal).rejects.toMatchObject({ code: 'BAD_ITEM_LIMIT' });
    expect(calls).toBe(1);
  });
});

describe('read-ahead queue', () => {
  it('keeps order, blocks the writer at the byte bound and admits one oversized item alone', async () => {
    const q = new ByteBoundedQueue<string>(10);
    await q.push('a', 6);
    let secondIn = false;
    const second = q.push('b', 6).then(() => (secondIn = true));
    await new Promise((r) => setImmediate(r));
    expect(secondIn).toBe(false);
    expect(await q.shift()).toBe('a');
    await second;
    expect(await q.shift()).toBe('b');
    await q.push('huge', 100);
    q.close();
    expect(await q.shift()).toBe('huge');
    expect(await q.shift()).toBeUndefined();
  });

  it('hands a failure of one side to the other', async () => {
    const q = new ByteBoundedQueue<string>(10);
    const waiting = q.shift();
    q.fail(new Error('source gone'));
    await expect(waiting).rejects.toThrow('source gone');
    await expect(q.push('x', 1)).rejects.toThrow('source gone');
  });
});
