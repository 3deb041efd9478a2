/**
 * Where a password may travel in clear text: to this machine only, unless the
 * admin allows it for a server explicitly. Every connector checks before it
 * sends a byte, so a settings mistake cannot leak a password onto a network.
 */
import { isIP } from 'node:net';
import { MailferryError } from './errors';

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h.startsWith('::ffff:127.');
}

export interface PlaintextCheck {
  /** what the password is for, e.g. "the directory password" */
  secret: string;
  host: string;
  port: number | string;
  /** the connection is encrypted (implicit TLS, ldaps://, https://, or STARTTLS required) */
  encrypted: boolean;
  allowPlaintext?: boolean;
  /** how to encrypt this protocol, for the message */
  howToEncrypt: string;
}

export function assertPlaintextAllowed(check: PlaintextCheck): void {
  if (check.encrypted || check.allowPlaintext || isLoopbackHost(check.host)) return;
  throw new MailferryError(
    'TLS_REQUIRED',
    `Refusing to send ${check.secret} in clear text to ${check.host}:${check.port}; ${check.howToEncrypt}, or allow plaintext explicitly for this server.`,
  );
}

/** The same check for a URL (ldap://, ldaps://, http://, https://). */
export function assertUrlAllowsPassword(url: string, secret: string, allowPlaintext: boolean | undefined, howToEncrypt: string): void {
  const parsed = new URL(url);
  assertPlaintextAllowed({
    secret,
    host: parsed.hostname,
    port: parsed.port || parsed.protocol.replace(':', ''),
    encrypted: parsed.protocol === 'ldaps:' || parsed.protocol === 'https:',
    allowPlaintext,
    howToEncrypt,
  });
}
