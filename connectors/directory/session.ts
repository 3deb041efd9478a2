/**
 * One bound LDAP connection per directory object. Binds lazily and again after
 * the server dropped the connection, and turns transport and bind failures into
 * MailferryErrors an admin can act on (the password never appears in them).
 */
import { Client, InvalidCredentialsError, type Change, type Entry, type Filter } from 'ldapts';
import { MailferryError } from '../../shared/errors';
import { assertUrlAllowsPassword } from '../../shared/transport';

export interface DirectoryConfig {
  url: string;
  suffix: string;
  bindDn: string;
  password: string;
  /** allow ldap:// (no TLS) to a host other than this machine */
  allowPlaintext?: boolean;
}

export interface LdapSession {
  search(base: string, options: { scope: 'base' | 'one' | 'sub'; filter?: Filter; attributes: string[] }): Promise<Entry[]>;
  modify(dn: string, changes: Change[]): Promise<void>;
  close(): Promise<void>;
}

const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

// duck-typed, not `instanceof Error`: socket errors may come from another realm (Node internals under a vm, e.g. jest)
function isTransportError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && TRANSIENT_SOCKET_CODES.has(code)) return true;
  // ldapts reports lost sockets and timeouts as plain Errors with these messages
  return typeof message === 'string' && /^(Connection timeout|Socket error|Connection closed)|timeout/i.test(message);
}

export function createLdapSession(cfg: DirectoryConfig): LdapSession {
  const client = new Client({ url: cfg.url, connectTimeout: 5_000, timeout: 30_000 });

  function translate(error: unknown): unknown {
    if (error instanceof MailferryError) return error;
    if (error instanceof InvalidCredentialsError) {
      return new MailferryError('AUTH_FAILED', `The directory at ${cfg.url} refused the bind as ${cfg.bindDn}: wrong DN or password.`, {
        cause: error,
      });
    }
    if (isTransportError(error)) {
      const reason = String((error as { message?: unknown }).message ?? error).split('\n')[0];
      return new MailferryError('CONNECTION_FAILED', `Cannot reach the directory at ${cfg.url} (${reason}).`, {
        permanent: false,
        cause: error,
      });
    }
    return error;
  }

  // one bind at a time: activities share the session, and a bind sent while
  // other requests are outstanding makes the server abandon them
  let binding: Promise<void> | undefined;
  function ensureBound(): Promise<void> {
    if (client.isBound) return Promise.resolve();
    assertUrlAllowsPassword(cfg.url, `the directory password of ${cfg.bindDn}`, cfg.allowPlaintext, 'use ldaps://');
    binding ??= client.bind(cfg.bindDn, cfg.password).finally(() => {
      binding = undefined;
    });
    return binding;
  }

  async function bound<T>(operation: () => Promise<T>): Promise<T> {
    try {
      await ensureBound();
      return await operation();
    } catch (error) {
      throw translate(error);
    }
  }

  return {
    search: (base, options) =>
      bound(
        async () => (await client.search(base, { ...options, paged: options.scope === 'base' ? false : { pageSize: 500 } })).searchEntries,
      ),
    modify: (dn, changes) => bound(() => client.modify(dn, changes)),
    close: async () => {
      if (client.isConnected) await client.unbind();
    },
  };
}
