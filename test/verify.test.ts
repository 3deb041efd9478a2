/**
 * The lab verifier against real mailboxes: it must stay quiet for an exact
 * copy and name every missing, extra and different message otherwise.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createMailCopier } from '../connectors/mail';
import { closeImap, openImap } from '../connectors/mail/connect';
import { verifyMailbox, type VerifyReport } from '../lab/verify';
import { appendMessages, createTestMailbox, labInfo, rawMessage, type TestMailbox } from './helpers/imap';

describe('verifyMailbox', () => {
  let m: TestMailbox;

  beforeAll(async () => {
    m = await createTestMailbox(labInfo());
    await appendMessages(m.source, 'INBOX', [
      { raw: rawMessage({ subject: 'keep' }), flags: ['\\Seen', '$Project'] },
      { raw: rawMessage({ subject: 'lose' }) },
      { raw: rawMessage({ subject: 'reflag' }), flags: ['\\Flagged'] },
    ]);
    await appendMessages(m.source, 'Projects/Ünïcode', [{ raw: rawMessage({ subject: 'nested' }) }]);
    await createMailCopier().copyMailbox(m.source, m.target);
  });

  afterAll(async () => {
    await m?.remove();
  });

  it('finds an exact copy equal', async () => {
    const report = await verifyMailbox(m.source, m.target);
    expect(report).toMatchObject({ equal: true, missing: 0, extra: 0, different: 0 });
    expect(report.folders.find((f) => f.target === 'Projects/Ünïcode')).toMatchObject({ sourceMessages: 1, targetMessages: 1 });
  });

  it('names missing, extra and different messages, and the CLI exits non-zero', async () => {
    const target = await openImap(m.target);
    try {
      await target.mailboxOpen('INBOX');
      const uids = new Map<string, number>();
      for await (const msg of target.fetch('1:*', { uid: true, envelope: true }, { uid: true })) uids.set(msg.envelope?.subject ?? '', msg.uid);
      await target.messageDelete(String(uids.get('lose')), { uid: true });
      await target.messageFlagsSet(String(uids.get('reflag')), ['\\Seen'], { uid: true });
      await target.append('INBOX', rawMessage({ subject: 'stray' }));
    } finally {
      await closeImap(target);
    }
    const report = await verifyMailbox(m.source, m.target);
    expect(report.equal).toBe(false);
    expect(report.findings.map((f) => [f.kind, f.subject]).sort()).toEqual([
      ['different', 'reflag'],
      ['extra', 'stray'],
      ['missing', 'lose'],
    ]);

    const cli = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'lab', 'verify.ts'), '--address', m.address, '--json'], {
      encoding: 'utf8',
    });
    expect(cli.status).toBe(1);
    const fromCli = JSON.parse(cli.stdout) as VerifyReport;
    expect([fromCli.missing, fromCli.extra, fromCli.different]).toEqual([1, 1, 1]);
  });

  it('ignores header lines by prefix, for mbsync copies', async () => {
    const other = await createTestMailbox(labInfo());
    try {
      const body = 'Subject: tuid\r\nMessage-ID: <tuid@contoso.test>\r\n\r\nhello\r\n';
      const date = new Date('2024-01-01T00:00:00Z');
      await appendMessages(other.source, 'INBOX', [{ raw: Buffer.from(body), date }]);
      await appendMessages(other.target, 'INBOX', [{ raw: Buffer.from(`X-TUID: abcdef\r\n${body}`), date }]);
      expect((await verifyMailbox(other.source, other.target)).equal).toBe(false);
      expect((await verifyMailbox(other.source, other.target, { ignoreHeaderPrefixes: ['X-TUID:'] })).equal).toBe(true);
    } finally {
      await other.remove();
    }
  });
});
