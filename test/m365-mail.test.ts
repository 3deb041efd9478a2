/**
 * Mail into the Microsoft 365 lab target: app-only OAuth 2.0 tokens from the
 * lab's token endpoint through msal-node, XOAUTH2/OAUTHBEARER logins that the
 * cloud Dovecot's oauth2 passdb validates, and Exchange Online's behaviours
 * from the lab relay (rewriting, throttling with a suggested backoff,
 * MaxReceiveSize, sessions ended when their token expires, no MULTIAPPEND).
 */
import { readFileSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { createMailCopier } from '../connectors/mail';
import type { ImapEndpoint } from '../connectors/mail/types';
import { createTokenProvider, GRAPH_SCOPE, IMAP_SCOPE, type TokenProvider } from '../connectors/m365/token';
import { exchangeOnlineImap } from '../worker/m365Connectors';
import type { LabInfo } from '../lab/info';
import { labM365App } from '../lab/oauth/register';
import { startTokenServer, tokenServerConfigSchema, type TokenServer } from '../lab/oauth/server';
import { startImapRelay, type ImapRelay, type ImapRelayOptions } from '../lab/relays/imap';
import { verifyMailbox } from '../lab/verify';
import { MailferryError } from '../shared/errors';
import { appendMessages, createTestMailbox, folderCounts, labInfo, rawMessage, type TestMailbox } from './helpers/imap';

// short backoffs: the waits under test are the server's, not the copier's own
const copier = createMailCopier({ retry: { baseMs: 100, capMs: 1_000, maxStallMs: 60_000 } });
/** Exchange Online: no MULTIAPPEND, every message rendered anew */
const EXCHANGE_LIKE: ImapRelayOptions = { rewrite: true, hide: ['MULTIAPPEND'], errorLimit: 10, expireTokens: true };

let info: LabInfo;
let tokens: TokenProvider;
const mailboxes: TestMailbox[] = [];
const relays: ImapRelay[] = [];

async function mailbox(messages: number): Promise<TestMailbox> {
  const m = await createTestMailbox(info);
  mailboxes.push(m);
  if (messages > 0) {
    await appendMessages(
      m.source,
      'INBOX',
      Array.from({ length: messages }, (_, i) => ({ raw: rawMessage({ subject: `m365 ${i + 1}` }), flags: i % 3 === 0 ? ['\\Seen'] : [] })),
    );
  }
  return m;
}

async function relay(m: TestMailbox, options: ImapRelayOptions): Promise<ImapRelay> {
  const r = await startImapRelay(m.target.host, m.target.port, options);
  relays.push(r);
  return r;
}

/** The cloud mailbox as the worker opens an m365 target's: the mailbox's own address and an app-only token. */
function m365Target(m: TestMailbox, r: ImapRelay, provider: TokenProvider = tokens, maxReceiveSizeBytes?: number): ImapEndpoint {
  return exchangeOnlineImap({ imap: { host: m.target.host, port: r.port, secure: false }, maxReceiveSizeBytes }, provider, m.address);
}

beforeAll(() => {
  info = labInfo();
  tokens = createTokenProvider(labM365App(info.m365));
});

afterAll(async () => {
  for (const r of relays) await r.close();
  for (const m of mailboxes) await m.remove();
});

describe('XOAUTH2 into the Microsoft 365 lab target', () => {
  it('logs in with a real msal-node app-only token; a token without IMAP.AccessAsApp and a refused app are named apart', async () => {
    const m = await mailbox(0);
    const r = await relay(m, EXCHANGE_LIKE);
    const token = await tokens.getToken(IMAP_SCOPE);
    expect(decodeJwt(token.token)).toMatchObject({ aud: 'https://outlook.office365.com', roles: ['IMAP.AccessAsApp'], appid: info.m365.app.clientId });
    await copier.testLogin(m365Target(m, r));
    expect(r.tokenLogins).toBe(1);

    // a Graph token is valid, but carries no IMAP.AccessAsApp: Dovecot's oauth2 passdb refuses it as Exchange does
    const graphOnly = { ...m365Target(m, r), token: () => tokens.getToken(GRAPH_SCOPE) };
    await expect(copier.testLogin(graphOnly)).rejects.toMatchObject({ code: 'FULL_ACCESS_DENIED', message: expect.stringContaining('IMAP.AccessAsApp') });

    // an app the tenant does not know: the token endpoint's AADSTS answer, not an IMAP error
    const stranger = createTokenProvider({ ...labM365App(info.m365), clientId: '00000000-0000-4000-8000-000000000001' });
    const refused = await copier.testLogin(m365Target(m, r, stranger)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MailferryError);
    expect(refused).toMatchObject({ code: 'TOKEN_FAILED', message: expect.stringContaining('AADSTS700016') });
  });

  it('honours Exchange throttling (each suggested backoff waited before the next APPEND), and a re-run on the rewriting target duplicates nothing', async () => {
    const m = await mailbox(24);
    const backoffMs = 1_200;
    const r = await relay(m, { ...EXCHANGE_LIKE, throttle: { every: 7, backoffMs } });
    const reconnects: string[] = [];
    const first = await copier.copyMailbox(m.source, m365Target(m, r), { onReconnect: ({ reason }) => reconnects.push(reason) });
    expect(first.messagesCopied).toBe(24);
    expect(first.badItems).toEqual([]);
    // 24 messages, every 7th APPEND refused: 27 APPEND commands, 3 of them throttled, each met by one backoff
    expect(r.throttled).toHaveLength(3);
    expect(reconnects).toHaveLength(3);
    expect(reconnects.every((reason) => reason.includes(`Request is throttled. Suggested Backoff Time: ${backoffMs} milliseconds`))).toBe(true);
    const pauses = r.throttled.map(({ at }) => (r.appendCommands.find((t) => t > at) ?? Infinity) - at);
    for (const pause of pauses) expect(pause).toBeGreaterThanOrEqual(backoffMs);
    expect(r.appends).toBe(24);

    // a re-run without the checkpoint finds every message on the target by Message-ID, though the bytes differ
    const again = await copier.copyMailbox(m.source, m365Target(m, r));
    expect(again.messagesCopied).toBe(0);
    expect(again.messagesExisting).toBe(24);
    expect(r.appends).toBe(24);
    expect((await folderCounts(m.target)).INBOX).toBe(24);
    expect((await verifyMailbox(m.source, m.target, { compare: 'message-id' })).findings).toEqual([]);
  });

  it('lists a message above the target mailbox MaxReceiveSize as a bad item with that reason, and never sends it', async () => {
    const m = await mailbox(4);
    await appendMessages(m.source, 'INBOX', [{ raw: rawMessage({ subject: 'the big one', body: ('x'.repeat(998) + '\r\n').repeat(200) }) }]);
    const limit = 100_000;
    const r = await relay(m, { ...EXCHANGE_LIKE, maxMessageBytes: limit });
    const result = await copier.copyMailbox(m.source, m365Target(m, r, tokens, limit));
    expect(result.messagesCopied).toBe(4);
    expect(result.badItems).toEqual([
      expect.objectContaining({ folder: 'INBOX', subject: 'the big one', reason: expect.stringContaining(`MaxReceiveSize of ${limit} bytes`) }),
    ]);
    expect(r.tooLarge).toBe(0);

    // a target whose limit the settings do not know: Exchange's own refusal becomes the bad item's reason
    const n = await mailbox(2);
    await appendMessages(n.source, 'INBOX', [{ raw: rawMessage({ subject: 'too big for it', body: ('y'.repeat(998) + '\r\n').repeat(200) }) }]);
    const strict = await relay(n, { ...EXCHANGE_LIKE, maxMessageBytes: limit });
    const refused = await copier.copyMailbox(n.source, m365Target(n, strict));
    expect(refused.messagesCopied).toBe(2);
    expect(refused.badItems.map((b) => [b.subject, b.reason])).toEqual([['too big for it', expect.stringContaining('Maximum size of appendable message has been exceeded')]]);
    expect(strict.tooLarge).toBe(1);
  });
});

describe('token expiry mid-copy', () => {
  let shortLived: TokenServer;
  const lifetimeSeconds = 6;

  beforeAll(async () => {
    // the lab tenant's own endpoint, keys and issuer, on a port of its own, with tokens shorter than the copy
    const config = tokenServerConfigSchema.parse(JSON.parse(readFileSync(info.m365.tokenServerConfig, 'utf8')));
    shortLived = await startTokenServer({ ...config, port: 0, apps: config.apps.map((a) => ({ ...a, tokenLifetimeSeconds: lifetimeSeconds })) });
  });

  afterAll(async () => {
    await shortLived?.close();
  });

  it('renews the token before it expires: the copy outlasts three tokens, no session meets AccessTokenExpired, nothing is sent twice', async () => {
    const m = await mailbox(60);
    // Exchange's pace: a slow APPEND, so the 60 messages take about 15 s, one session at a time
    const r = await relay(m, { ...EXCHANGE_LIKE, appendDelayMs: 250 });
    const provider = createTokenProvider({ ...labM365App(info.m365), authorityHost: `https://127.0.0.1:${shortLived.port}` });
    const started = Date.now();
    const result = await copier.copyMailbox(m.source, m365Target(m, r, provider));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThan(2 * lifetimeSeconds * 1000);
    expect(result.messagesCopied).toBe(60);
    expect(r.tokenExpired).toBe(0);
    expect(r.tokenLogins).toBeGreaterThanOrEqual(3);
    expect(shortLived.issued.get(info.m365.app.clientId)).toBeGreaterThanOrEqual(3);
    expect(r.appends).toBe(60);
    expect((await verifyMailbox(m.source, m.target, { compare: 'message-id' })).findings).toEqual([]);
  });
});
