/**
 * One bound LDAP connection per directory object. Binds lazily and again after
 * the server dropped the connection, and turns transport and bind failures into
 * MailferryErrors an admin can act on (the password never appears in them).
 *
 * TLS is LDAPS (`ldaps://`) or StartTLS on `ldap://`, and the certificate is
 * always verified: against `caFile` when given (an enterprise CA), else the
 * system's trust store. The bind name may be a DN, `DOMAIN\user` or a UPN;
 * Active Directory's simple bind takes all three.
 */
import { readFileSync } from 'node:fs';
import { Client, InvalidCredentialsError, SizeLimitExceededError, StrongAuthRequiredError, type Change, type Entry, type Filter } from 'ldapts';
import { MailferryError } from '../../shared/errors';
import { assertUrlAllowsPassword } from '../../shared/transport';
import type { AttributeMapName } from './attributeMap';

export interface DirectoryConfig {
  url: string;
  suffix: string;
  /** a DN, `DOMAIN\user` or a UPN */
  bindDn: string;
  password: string;
  /** allow ldap:// (no TLS) to a host other than this machine */
  allowPlaintext?: boolean;
  /** PEM file of the CA that signed the directory's certificate */
  caFile?: string;
  /** upgrade an ldap:// connection with StartTLS before binding */
  startTls?: boolean;
  /** which attribute names the directory uses (source default: exchange) */
  attributeMap?: AttributeMapName;
}

export interface SearchOptions {
  scope: 'base' | 'one' | 'sub';
  filter?: Filter;
  attributes: string[];
  /** attributes returned as Buffers */
  binary?: string[];
}

export interface LdapSession {
  search(base: string, options: SearchOptions): Promise<Entry[]>;
  /** whether anything below `base` matches, without reading every match */
  any(base: string, filter: Filter): Promise<boolean>;
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

function isCertificateError(error: unknown): boolean {
  const { code } = (error ?? {}) as { code?: unknown };
  return typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/.test(code);
}

export function createLdapSession(cfg: DirectoryConfig): LdapSession {
  const tlsOptions = cfg.caFile ? { ca: [readFileSync(cfg.caFile)] } : {};
  // ldapts opens TLS at connect whenever tlsOptions are given: only for ldaps://, StartTLS gets them in startTLS()
  const ldaps = cfg.url.toLowerCase().startsWith('ldaps:');
  const client = new Client({ url: cfg.url, connectTimeout: 5_000, timeout: 30_000, ...(ldaps ? { tlsOptions } : {}) });

  function translate(error: unknown): unknown {
    if (error instanceof MailferryError) return error;
    if (error instanceof InvalidCredentialsError) {
      return new MailferryError('AUTH_FAILED', `The directory at ${cfg.url} refused the bind as ${cfg.bindDn}: wrong DN or password.`, {
        cause: error,
      });
    }
    if (error instanceof StrongAuthRequiredError) {
      // Active Directory refuses a simple bind on a connection without TLS
      return new MailferryError('TLS_REQUIRED', `The directory at ${cfg.url} requires TLS for a bind: use ldaps:// or StartTLS.`, { cause: error });
    }
    if (isCertificateError(error)) {
      return new MailferryError(
        'CONNECTION_FAILED',
        `The directory at ${cfg.url} presented a certificate that does not verify (${String((error as { message?: unknown }).message)}): give the CA that signed it (caFile) rather than turning verification off.`,
        { cause: error },
      );
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
    if (!cfg.startTls) assertUrlAllowsPassword(cfg.url, `the directory password of ${cfg.bindDn}`, cfg.allowPlaintext, 'use ldaps:// or StartTLS');
    binding ??= (async () => {
      // a reconnected socket is plaintext again: upgrade before every bind
      if (cfg.startTls) await client.startTLS(tlsOptions);
      await client.bind(cfg.bindDn, cfg.password);
    })().finally(() => {
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
    // paged below AD's MaxPageSize (1,000): a bigger OU comes back whole, page by page
    search: (base, { binary = [], ...options }) =>
      bound(
        async () =>
          (await client.search(base, { ...options, explicitBufferAttributes: binary, paged: options.scope === 'base' ? false : { pageSize: 500 } }))
            .searchEntries,
      ),
    any: (base, filter) =>
      bound(async () => {
        try {
          return (await client.search(base, { scope: 'sub', filter, attributes: ['1.1'], sizeLimit: 1 })).searchEntries.length > 0;
        } catch (error) {
          if (error instanceof SizeLimitExceededError) return true;
          throw error;
        }
      }),
    modify: (dn, changes) => bound(() => client.modify(dn, changes)),
    close: async () => {
      if (client.isConnected) await client.unbind();
    },
  };
}
