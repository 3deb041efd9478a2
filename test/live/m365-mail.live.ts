/**
 * The mail scenario of test/m365-mail.test.ts against a real tenant
 * (outlook.office365.com over IMAP with an app-only token), for the live
 * suite: `npm run test:m365`. Skipped, saying so, unless these are set:
 *
 *   MAILFERRY_M365_TENANT_ID     directory (tenant) id
 *   MAILFERRY_M365_CLIENT_ID     the app registration's application (client) id
 *   MAILFERRY_M365_CERTIFICATE   PEM file: the app's certificate and its private key
 *   MAILFERRY_M365_MAILBOX       a test mailbox the app has FullAccess on (README: "IMAP into Microsoft 365")
 *   MAILFERRY_M365_IMAP_HOST     optional, default outlook.office365.com
 *
 * The source is a mailbox of the local lab (`lab:up` must be running). The
 * messages go into a folder of their own on the live mailbox, removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { appEndpoint, createMailCopier } from '../../connectors/mail';
import { closeImap, openImap } from '../../connectors/mail/connect';
import type { ImapEndpoint } from '../../connectors/mail/types';
import { createTokenProvider, IMAP_SCOPE } from '../../connectors/m365/token';
import { appendMessages, createTestMailbox, labInfo, rawMessage, type TestMailbox } from '../helpers/imap';

const env = {
  tenantId: process.env.MAILFERRY_M365_TENANT_ID,
  clientId: process.env.MAILFERRY_M365_CLIENT_ID,
  certificateFile: process.env.MAILFERRY_M365_CERTIFICATE,
  mailbox: process.env.MAILFERRY_M365_MAILBOX,
  host: process.env.MAILFERRY_M365_IMAP_HOST || 'outlook.office365.com',
};
const missing = Object.entries({
  MAILFERRY_M365_TENANT_ID: env.tenantId,
  MAILFERRY_M365_CLIENT_ID: env.clientId,
  MAILFERRY_M365_CERTIFICATE: env.certificateFile,
  MAILFERRY_M365_MAILBOX: env.mailbox,
})
  .filter(([, value]) => !value)
  .map(([name]) => name);

const live = missing.length === 0 ? describe : describe.skip;
if (missing.length > 0) console.log(`live Microsoft 365 mail scenario skipped: set ${missing.join(', ')} (see the README, "IMAP into Microsoft 365")`);

live('mail into a real Exchange Online mailbox (IMAP, XOAUTH2, app-only token)', () => {
  const folder = `mailferry-live-${randomBytes(3).toString('hex')}`;
  let source: TestMailbox;
  let target: ImapEndpoint;

  beforeAll(async () => {
    const tokens = createTokenProvider({ tenantId: env.tenantId!, clientId: env.clientId!, certificateFile: env.certificateFile! });
    target = appEndpoint({ host: env.host, port: 993, secure: true }, env.mailbox!, () => tokens.getToken(IMAP_SCOPE));
    source = await createTestMailbox(labInfo());
    await appendMessages(
      source.source,
      'INBOX',
      Array.from({ length: 10 }, (_, i) => ({ raw: rawMessage({ subject: `mailferry live ${i + 1}` }), flags: i % 2 ? ['\\Seen'] : [] })),
    );
  });

  afterAll(async () => {
    if (target) {
      const client = await openImap(target);
      await client.mailboxDelete(folder).catch(() => undefined);
      await closeImap(client);
    }
    await source?.remove();
  });

  it('logs in with the token, copies into its own folder, and a re-run copies nothing (Exchange renders messages anew)', async () => {
    const copier = createMailCopier();
    await copier.testLogin(target);
    const options = { renameFolders: { INBOX: folder }, includeFolders: ['INBOX'] };
    const first = await copier.copyMailbox(source.source, target, options);
    expect(first.messagesCopied).toBe(10);
    expect(first.badItems).toEqual([]);
    const again = await copier.copyMailbox(source.source, target, options);
    expect(again.messagesCopied).toBe(0);
    expect(again.messagesExisting).toBe(10);
    const client = await openImap(target);
    try {
      const status = await client.status(folder, { messages: true });
      expect(status && status.messages).toBe(10);
    } finally {
      await closeImap(client);
    }
  });
});
