/**
 * Opening an IMAP session: the TLS policy, the login, and the translation of
 * imapflow's failures into the errors an admin can act on.
 */
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { MailferryError } from '../../shared/errors';
import { assertPlaintextAllowed, isLoopbackHost } from '../../shared/transport';
import type { ImapEndpoint } from './types';

export { isLoopbackHost };

/** What the server is asked to log in as: the endpoint's user, or with `mailbox` the admin opening it. */
export function imapAuth(endpoint: ImapEndpoint): ImapFlowOptions['auth'] {
  const { user, password: pass, mailbox } = endpoint;
  if (mailbox === undefined) return { user, pass };
  switch (endpoint.adminLogin ?? 'master') {
    case 'authzid':
      // LOGIN has no authorisation identity: only SASL PLAIN carries it
      return { user, pass, authzid: mailbox, loginMethod: 'AUTH=PLAIN' };
    case 'exchange-path':
      // Exchange takes the mailbox's alias after the admin's DOMAIN\user; imapflow then uses LOGIN, as Exchange needs
      return { user: `${user}\\${mailbox.split('@')[0]}`, pass };
    case 'master':
      return { user: `${mailbox}*${user}`, pass };
  }
}

/** Refuses, before any byte is sent, to put a password on the wire in clear to a remote host. */
export function assertTransportAllowed(endpoint: ImapEndpoint): void {
  assertPlaintextAllowed({
    secret: endpoint.token ? `an access token for ${endpoint.user}` : `the IMAP password for ${endpoint.user}`,
    host: endpoint.host,
    port: endpoint.port,
    encrypted: endpoint.secure,
    allowPlaintext: endpoint.allowPlaintext,
    howToEncrypt: 'use an implicit-TLS port (secure)',
  });
}

const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'GREETING_TIMEOUT',
  'UPGRADE_TIMEOUT',
  'ETIMEOUT',
  'NoConnection',
  'EConnectionClosed',
  'ClosedAfterConnectText',
  'ClosedAfterConnectTLS',
]);

interface ImapErrorShape {
  code?: string;
  authenticationFailed?: boolean;
  responseText?: string;
  serverResponseCode?: string;
  tlsFailed?: boolean;
}

export function imapErrorOf(err: unknown): ImapErrorShape {
  return typeof err === 'object' && err !== null ? (err as ImapErrorShape) : {};
}

const grant = (endpoint: ImapEndpoint) =>
  `grant it FullAccess (Add-MailboxPermission -Identity ${endpoint.mailbox} -User ${endpoint.user} -AccessRights FullAccess)`;

/**
 * The admin's login into a user's mailbox was refused. Dovecot says which half
 * failed ([AUTHENTICATIONFAILED]: the admin's own password; [AUTHORIZATIONFAILED]:
 * the admin may not act as that mailbox); Exchange answers both with a bare NO.
 */
function adminLoginRefused(e: ImapErrorShape, endpoint: ImapEndpoint, where: string, cause: unknown): MailferryError {
  const code = (e.serverResponseCode ?? '').toUpperCase();
  if (code === 'AUTHORIZATIONFAILED') {
    return new MailferryError(
      'FULL_ACCESS_DENIED',
      `The IMAP server ${where}: the admin account ${endpoint.user} authenticated but may not open ${endpoint.mailbox}: ${grant(endpoint)}.`,
      { cause },
    );
  }
  if (code === 'AUTHENTICATIONFAILED') {
    return new MailferryError(
      'AUTH_FAILED',
      `IMAP login to ${where} as the admin account ${endpoint.user} was refused: wrong user name or password.`,
      {
        cause,
      },
    );
  }
  return new MailferryError(
    'AUTH_FAILED',
    `IMAP login to ${where} as the admin account ${endpoint.user} for ${endpoint.mailbox} was refused (the server does not say why): check the admin's password, or ${grant(endpoint)}.`,
    { cause },
  );
}

/** Maps a failure of connect()/login to AUTH_FAILED, FULL_ACCESS_DENIED, TLS_REQUIRED or CONNECTION_FAILED; other errors pass through. */
export function classifyConnectError(err: unknown, endpoint: ImapEndpoint): unknown {
  if (err instanceof MailferryError) return err;
  const e = imapErrorOf(err);
  const where = `${endpoint.host}:${endpoint.port}`;
  // Exchange Online throttles logins too ("Request is throttled. Suggested Backoff Time: N milliseconds"): not a wrong credential
  if (e.code === 'ETHROTTLE' || /Request is throttled/i.test(e.responseText ?? '')) {
    return new MailferryError('CONNECTION_FAILED', `The IMAP server ${where} is throttling logins (${e.responseText ?? 'throttled'}); it will be tried again.`, {
      cause: err,
      permanent: false,
    });
  }
  // A server at its connection limit refuses the login with a response code, not the password.
  if (e.authenticationFailed && /^(UNAVAILABLE|INUSE|LIMIT|SERVERBUG)$/i.test(e.serverResponseCode ?? '')) {
    return new MailferryError('CONNECTION_FAILED', `The IMAP server ${where} is busy (${e.serverResponseCode}); it will be tried again.`, {
      cause: err,
      permanent: false,
    });
  }
  if (e.authenticationFailed && endpoint.token) {
    // Exchange Online answers a token it will not take with a bare "NO AUTHENTICATE failed."
    return new MailferryError(
      'FULL_ACCESS_DENIED',
      `The IMAP server ${where} refused the app-only token for ${endpoint.user}: the app needs the IMAP.AccessAsApp permission with admin consent, ` +
        `its service principal registered in Exchange Online (New-ServicePrincipal) and FullAccess on the mailbox ` +
        `(Add-MailboxPermission -Identity ${endpoint.user} -User <service principal id> -AccessRights FullAccess).`,
      { cause: err },
    );
  }
  if (e.authenticationFailed && endpoint.mailbox !== undefined) return adminLoginRefused(e, endpoint, where, err);
  if (e.authenticationFailed) {
    return new MailferryError('AUTH_FAILED', `IMAP login to ${where} as ${endpoint.user} was refused by the server.`, { cause: err });
  }
  if (e.tlsFailed) {
    return new MailferryError('TLS_REQUIRED', `TLS negotiation with ${where} failed.`, { cause: err });
  }
  // Implicit TLS asked of a port that speaks plain IMAP: OpenSSL's own words would not tell the admin that.
  if (/^ERR_SSL_/.test(e.code ?? '')) {
    return new MailferryError(
      'CONNECTION_FAILED',
      `TLS negotiation with ${where} failed (${e.code}): the server does not offer implicit TLS on this port; give its TLS port, or turn TLS off for it.`,
      { cause: err },
    );
  }
  if (e.code && connectionCodes.has(e.code)) {
    return new MailferryError('CONNECTION_FAILED', `Cannot reach the IMAP server ${where} (${e.code}).`, { cause: err, permanent: false });
  }
  return err;
}

/** When each session opened with a token must be replaced (its token's renewAt). */
const renewals = new WeakMap<ImapFlow, Date>();

/** true when the session's token is due for renewal: the next command should go to a new session */
export function tokenDue(client: ImapFlow, now = Date.now()): boolean {
  const at = renewals.get(client);
  return at !== undefined && now >= at.getTime();
}

/** Connects and logs in; the caller owns the session and must logout()/close() it. */
export async function openImap(endpoint: ImapEndpoint): Promise<ImapFlow> {
  assertTransportAllowed(endpoint);
  const loopback = isLoopbackHost(endpoint.host);
  const token = endpoint.token ? await endpoint.token() : undefined;
  const client = new ImapFlow({
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.secure,
    // A server without a certificate (the lab) advertises STARTTLS that then fails; plaintext was
    // already vetted above, so a non-secure endpoint means "no TLS at all".
    doSTARTTLS: endpoint.secure ? undefined : false,
    // imapflow picks OAUTHBEARER or XOAUTH2, whichever the server offers
    auth: token ? { user: endpoint.user, accessToken: token.token } : imapAuth(endpoint),
    logger: false,
    disableAutoIdle: true,
    // Deflate only pays off on a real network; on loopback it is pure CPU.
    disableCompression: loopback,
    clientInfo: { name: 'mailferry' },
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
  });
  // imapflow emits 'error' on socket failures; without a listener Node would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw classifyConnectError(err, endpoint);
  }
  if (token) renewals.set(client, token.renewAt);
  return client;
}

/** Ends a session quietly: the data is already committed or will be retried. */
export async function closeImap(client: ImapFlow | undefined): Promise<void> {
  if (!client) return;
  try {
    if (client.usable) await client.logout();
  } catch {
    // the server may have gone already; close() below releases the socket either way
  } finally {
    client.close();
  }
}
