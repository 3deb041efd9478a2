/**
 * The mail copier against the real lab Dovecots, each test on mailboxes of
 * its own; the lab verifier is the judge of "every message exactly once".
 */
import { MailferryError } from '../shared/errors';
import { BadItemLimitError, createMailCopier } from '../connectors/mail';
import { GROUP_MESSAGES } from '../connectors/mail/copy';
import type { ImapFlow } from 'imapflow';
import type { CopyCheckpoint, CopyProgress, ImapEndpoint } from '../connectors/mail/types';
import { startImapRelay, type ImapRelay, type ImapRelayOptions } from '../lab/relays/imap';
import { verifyMailbox } from '../lab/verify';
import type { LabInfo } from '../lab/info';
import { randomBytes } from 'node:crypto';
import { closeImap, imapAuth, openImap } from '../connectors/mail/connect';
import {
  appendMessages,
  createTestMailbox,
  folderCounts,
  labInfo,
  rawMessage,
  startDropRelay,
  writeSourceMaildirMessage,
  type TestMailbox,
} from './helpers/imap';
import { compareOn, TARGETS, verifierIn } from './helpers/targets';

const copier = createMailCopier();
let info: LabInfo;
const mailboxes: TestMailbox[] = [];

async function mailbox(opts: Parameters<typeof createTestMailbox>[1] = {}): Promise<TestMailbox> {
  const m = await createTestMailbox(info, opts);
  mailboxes.push(m);
  return m;
}

/** Runs `change` on a session of its own (the user working in a mailbox between two copies). */
async function onSession(endpoint: ImapEndpoint, change: (client: ImapFlow) => Promise<unknown>): Promise<void> {
  const client = await openImap(endpoint);
  try {
    await change(client);
  } finally {
    await closeImap(client);
  }
}

/** The mailbox's target behind a lab relay, and a first copy to it whose latest checkpoint `state` keeps. */
async function firstCopyThrough(m: TestMailbox, options: ImapRelayOptions) {
  const relay = await startImapRelay(m.target.host, m.target.port, options);
  const target = { ...m.target, port: relay.port };
  const state: { checkpoint?: CopyCheckpoint } = {};
  try {
    await copier.copyMailbox(m.source, target, { onCheckpoint: (c) => (state.checkpoint = c) });
  } catch (error) {
    await relay.close();
    throw error;
  }
  return { relay, target, state };
}

async function expectClean(m: TestMailbox): Promise<void> {
  const report = await verifyMailbox(m.source, m.target);
  expect(report.findings).toEqual([]);
  expect(report.equal).toBe(true);
}

beforeAll(() => {
  info = labInfo();
});

afterAll(async () => {
  for (const m of mailboxes) await m.remove();
});

describe('copyMailbox', () => {
  it('copies a seeded mailbox exactly (folders, bytes, flags, dates) and a second run copies nothing', async () => {
    const m = await mailbox({ messages: 300, seed: 7, largeMessages: 1 });
    const progress: CopyProgress[] = [];
    const first = await copier.copyMailbox(m.source, m.target, { onProgress: (p) => progress.push(p) });
    expect(first.messagesCopied).toBe(first.messagesSource);
    expect(progress.at(-1)).toMatchObject({ foldersDone: first.folders, messagesCopied: first.messagesCopied, bytesCopied: first.bytesCopied });
    expect(progress.map((p) => p.messagesCopied)).toEqual([...progress.map((p) => p.messagesCopied)].sort((a, b) => a - b));
    expect(first.messagesSource).toBeGreaterThanOrEqual(300);
    expect(first.badItems).toEqual([]);
    await expectClean(m);

    const second = await copier.copyMailbox(m.source, m.target);
    expect(second.messagesCopied).toBe(0);
    expect(second.messagesExisting).toBe(first.messagesSource);
  });

  it('matches messages without or sharing a Message-ID, and byte-identical duplicates, as multisets', async () => {
    const m = await mailbox();
    const twin = rawMessage({ subject: 'twin', messageId: '<twin@contoso.test>' });
    await appendMessages(m.source, 'INBOX', [
      { raw: rawMessage({ subject: 'no id 1', messageId: null }) },
      { raw: rawMessage({ subject: 'no id 2', messageId: null }) },
      { raw: rawMessage({ subject: 'shared A', messageId: '<shared@contoso.test>' }) },
      { raw: rawMessage({ subject: 'shared B', messageId: '<shared@contoso.test>' }) },
      { raw: twin, flags: ['\\Seen'] },
      { raw: twin, flags: ['\\Seen'] },
      { raw: twin, flags: ['\\Seen'] },
    ]);
    expect((await copier.copyMailbox(m.source, m.target)).messagesCopied).toBe(7);
    await expectClean(m);
    expect((await copier.copyMailbox(m.source, m.target)).messagesCopied).toBe(0);

    await appendMessages(m.source, 'INBOX', [{ raw: twin, flags: ['\\Seen'] }]);
    const third = await copier.copyMailbox(m.source, m.target);
    expect(third.messagesCopied).toBe(1);
    expect((await folderCounts(m.target)).INBOX).toBe(8);
    await expectClean(m);
  });

  it('delta: copies exactly the messages added since the last copy', async () => {
    const m = await mailbox({ messages: 120, seed: 11 });
    const first = await copier.copyMailbox(m.source, m.target);
    await appendMessages(m.source, 'INBOX', [1, 2, 3].map((i) => ({ raw: rawMessage({ subject: `new ${i}` }), flags: ['$Project'] })));
    await appendMessages(m.source, 'Brand new/Sub', [{ raw: rawMessage({ subject: 'in a new folder' }) }]);
    const second = await copier.copyMailbox(m.source, m.target);
    expect(second.messagesCopied).toBe(4);
    expect(second.messagesExisting).toBe(first.messagesCopied);
    await expectClean(m);
  });

  it('follows a source folder renamed since the copy: renames its copy on the target, copies nothing twice', async () => {
    const m = await mailbox();
    await appendMessages(m.source, 'Projects', [1, 2, 3, 4].map((i) => ({ raw: rawMessage({ subject: `project ${i}` }) })));
    const { relay, target, state } = await firstCopyThrough(m, { rewrite: true });
    try {
      await onSession(m.source, async (client) => {
        await client.mailboxRename('Projects', 'Projects 2026');
      });
      await appendMessages(m.source, 'Projects 2026', [{ raw: rawMessage({ subject: 'project 5, after the rename' }) }]);
      const after = await copier.copyMailbox(m.source, target, { checkpoint: state.checkpoint });
      expect(after.messagesCopied).toBe(1);
      expect(relay.appends).toBe(5);
    } finally {
      await relay.close();
    }
    const counts = await folderCounts(m.target);
    expect(counts['Projects 2026']).toBe(5);
    expect(counts.Projects).toBeUndefined();
    expect((await verifyMailbox(m.source, m.target, { compare: 'message-id' })).findings).toEqual([]);
  });

  it('copies nothing twice after the source folder got a new UIDVALIDITY (restored), even on a rewriting target', async () => {
    const m = await mailbox();
    const messages = [1, 2, 3].map((i) => ({ raw: rawMessage({ subject: `restored ${i}`, messageId: i === 3 ? null : undefined }) }));
    await appendMessages(m.source, 'Restored', messages);
    const { relay, target, state } = await firstCopyThrough(m, { rewrite: true });
    try {
      // the folder is deleted and restored from a backup: same messages, new UIDVALIDITY
      await onSession(m.source, async (client) => {
        await client.mailboxDelete('Restored');
      });
      await appendMessages(m.source, 'Restored', messages);
      const before = state.checkpoint?.folders.Restored?.uidValidity;
      const again = await copier.copyMailbox(m.source, target, { checkpoint: state.checkpoint, onCheckpoint: (c) => (state.checkpoint = c) });
      expect(state.checkpoint?.folders.Restored?.uidValidity).not.toBe(before);
      expect(again.messagesCopied).toBe(0);
      expect(relay.appends).toBe(3);
    } finally {
      await relay.close();
    }
    expect((await verifyMailbox(m.source, m.target, { compare: 'message-id' })).findings).toEqual([]);
  });

  it('applies include, exclude, rename, age and size rules', async () => {
    const m = await mailbox();
    const recent = new Date(Date.now() - 86_400_000);
    await appendMessages(m.source, 'INBOX', [
      { raw: rawMessage({ subject: 'recent' }), date: recent },
      { raw: rawMessage({ subject: 'ancient' }), date: new Date('2012-01-01T00:00:00Z') },
      { raw: rawMessage({ subject: 'big', body: 'x'.repeat(200_000) }), date: recent },
    ]);
    await appendMessages(m.source, 'Archive/2020', [{ raw: rawMessage({ subject: 'archived' }), date: recent }]);
    await appendMessages(m.source, 'Junk Email', [{ raw: rawMessage({ subject: 'spam' }), date: recent }]);
    await appendMessages(m.source, 'Private', [{ raw: rawMessage({ subject: 'private' }), date: recent }]);

    const result = await copier.copyMailbox(m.source, m.target, {
      includeFolders: ['INBOX', 'Archive/**', 'Junk Email'],
      excludeFolders: ['Junk*'],
      renameFolders: { Archive: 'Old Archive' },
      maxAgeDays: 365,
      maxMessageBytes: 100_000,
    });
    expect(result.messagesCopied).toBe(2);
    expect(result.messagesSkipped).toBe(2);
    const counts = await folderCounts(m.target);
    expect(counts.INBOX).toBe(1);
    expect(counts['Old Archive/2020']).toBe(1);
    expect(counts['Archive/2020']).toBeUndefined();
    expect(counts.Private).toBeUndefined();
    expect(counts['Junk Email'] ?? 0).toBe(0);
  });

  it('copies exactly through a target with MULTIAPPEND but without LITERAL+ (synchronising literals)', async () => {
    const m = await mailbox({ messages: 3 * GROUP_MESSAGES, seed: 13 });
    const relay = await startImapRelay(m.target.host, m.target.port, { hide: ['LITERAL+'] });
    try {
      const result = await copier.copyMailbox(m.source, { ...m.target, port: relay.port });
      console.log(`without LITERAL+: ${result.messagesCopied} of ${result.messagesSource} copied, ${relay.appendCommands.length} APPEND commands for ${relay.appends} messages`);
      expect(result.messagesCopied).toBe(result.messagesSource);
      // MULTIAPPEND groups, not one APPEND per message
      expect(relay.appendCommands.length).toBeLessThan(relay.appends);
    } finally {
      await relay.close();
    }
    await expectClean(m);
  });

  it('rides out sessions cut mid-copy, reconnecting and resuming without duplicates', async () => {
    const m = await mailbox({ messages: 200, seed: 5 });
    const relay = await startDropRelay(m.target.host, m.target.port, 1_000_000, 2);
    try {
      const fast = createMailCopier({ retry: { baseMs: 50, capMs: 200, maxStallMs: 30_000 } });
      const result = await fast.copyMailbox(m.source, { ...m.target, port: relay.port });
      expect(relay.drops).toBe(2);
      expect(result.messagesCopied + result.messagesExisting).toBe(result.messagesSource);
    } finally {
      await relay.close();
    }
    await expectClean(m);
  });

});

describe('logins', () => {
  it('builds each admin login form from one endpoint', () => {
    const admin = { host: 'h', port: 1, secure: true, user: 'ONPREM\\mfadmin', password: 'p', mailbox: 'ann.lee@tailspintoys.com' };
    expect(imapAuth({ ...admin, adminLogin: 'authzid' })).toEqual({
      user: 'ONPREM\\mfadmin',
      pass: 'p',
      authzid: 'ann.lee@tailspintoys.com',
      loginMethod: 'AUTH=PLAIN',
    });
    expect(imapAuth({ ...admin, adminLogin: 'exchange-path' })).toEqual({ user: 'ONPREM\\mfadmin\\ann.lee', pass: 'p' });
    expect(imapAuth({ ...admin, adminLogin: 'master' })).toEqual({ user: 'ann.lee@tailspintoys.com*ONPREM\\mfadmin', pass: 'p' });
    expect(imapAuth({ ...admin, mailbox: undefined })).toEqual({ user: 'ONPREM\\mfadmin', pass: 'p' });
  });

  it('copies a mailbox through SASL PLAIN with the mailbox as authorisation identity', async () => {
    const m = await mailbox({ messages: 6 });
    const result = await copier.copyMailbox({ ...m.source, adminLogin: 'authzid' }, m.target);
    expect(result.messagesCopied).toBe(6);
    await expectClean(m);
  });

  it('tells a refused authorisation (FULL_ACCESS_DENIED) from a wrong admin password (AUTH_FAILED)', async () => {
    const m = await mailbox();
    // Dovecot refuses the authorisation identity of a mailbox the master user may not open
    const other = `no-access-${randomBytes(4).toString('hex')}@tailspintoys.com`;
    const refused = { ...m.source, adminLogin: 'authzid' as const, mailbox: other };
    const denied = await copier.testLogin(refused).catch((e: unknown) => e);
    expect(denied).toMatchObject({ code: 'FULL_ACCESS_DENIED', permanent: true });
    expect((denied as Error).message).toContain(
      `the admin account ${m.source.user} authenticated but may not open ${other}: grant it FullAccess (Add-MailboxPermission -Identity ${other} -User ${m.source.user} -AccessRights FullAccess)`,
    );
    const wrong = await copier.testLogin({ ...m.source, adminLogin: 'authzid', password: 'wrong' }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'AUTH_FAILED', permanent: true });
    expect((wrong as Error).message).toMatch(/wrong user name or password/);
  });

  it('accepts the lab admin and maps a wrong password to AUTH_FAILED', async () => {
    const m = await mailbox();
    await copier.testLogin(m.source);
    await expect(copier.testLogin({ ...m.source, password: 'wrong' })).rejects.toMatchObject({ code: 'AUTH_FAILED', permanent: true });
  });

  it('maps a refused connection to a retryable CONNECTION_FAILED', async () => {
    const relay = await startDropRelay('127.0.0.1', 1, 0, 0); // a free port, then closed
    const port = relay.port;
    await relay.close();
    const err = await copier.testLogin({ host: '127.0.0.1', port, secure: false, user: 'x', password: 'y' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailferryError);
    expect(err).toMatchObject({ code: 'CONNECTION_FAILED', permanent: false });
  });

  it('refuses plaintext to a non-loopback host before connecting', async () => {
    const remote = { host: '192.0.2.10', port: 143, secure: false, user: 'a*admin', password: 'secret-pw' };
    const err = await copier.testLogin(remote).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TLS_REQUIRED' });
    expect(String((err as Error).message)).not.toContain('secret-pw');
    await expect(copier.copyMailbox(remote, remote)).rejects.toMatchObject({ code: 'TLS_REQUIRED' });
  });
});

/**
 * The copy-correctness tests against each target (helpers/targets), each
 * judged by the verifier mode that fits it: on the rewriting target by
 * Message-ID, INTERNALDATE, flags and count, since its bytes differ by design.
 */
describe.each(TARGETS)('copyMailbox to %s', (name, relayOptions) => {
  const compare = compareOn(relayOptions);
  let relay: ImapRelay | undefined;

  /** the mailbox's target behind this target's relay */
  async function through(m: TestMailbox): Promise<ImapEndpoint> {
    relay = await startImapRelay(m.target.host, m.target.port, relayOptions);
    return { ...m.target, port: relay.port };
  }

  afterEach(async () => {
    await relay?.close();
    relay = undefined;
  });

  it('delta: syncFlags sets the flags changed on the source since the copy (the source wins)', async () => {
    const m = await mailbox();
    await appendMessages(m.source, 'INBOX', [1, 2, 3, 4, 5, 6].map((i) => ({ raw: rawMessage({ subject: `flags ${i}` }), flags: i % 2 ? ['\\Seen'] : [] })));
    const target = await through(m);
    const first = await copier.copyMailbox(m.source, target);
    expect(first.messagesCopied).toBe(6);
    // the user keeps working on the source: flags 1–3 change, and the target's copy of 4 was flagged there
    await onSession(m.source, async (client) => {
      await client.mailboxOpen('INBOX');
      await client.messageFlagsAdd('1:2', ['\\Flagged', '$Project']);
      await client.messageFlagsRemove('3', ['\\Seen']);
    });
    await onSession(m.target, async (client) => {
      await client.mailboxOpen('INBOX');
      await client.messageFlagsAdd('4', ['\\Answered']);
    });
    expect((await verifyMailbox(m.source, m.target, { compare })).different).toBe(4);
    const delta = await copier.copyMailbox(m.source, target, { checkpoint: undefined, syncFlags: true });
    const report = await verifyMailbox(m.source, m.target, { compare });
    console.log(`delta flags (${name}): ${first.messagesCopied} messages, ${delta.flagsUpdated} flags set, ${relay?.appends} APPENDs in all; verifier (${verifierIn(relayOptions)}): ${report.findings.length} findings`);
    expect(delta.messagesCopied).toBe(0);
    expect(delta.flagsUpdated).toBe(4);
    expect(relay?.appends).toBe(6);
    expect(report.findings).toEqual([]);
  });

  it('delta: reports what was deleted on the source since the copy, and deletes it on the target only when asked', async () => {
    const m = await mailbox();
    await appendMessages(m.source, 'INBOX', [1, 2, 3, 4, 5].map((i) => ({ raw: rawMessage({ subject: `keep or not ${i}` }) })));
    const target = await through(m);
    let checkpoint: CopyCheckpoint | undefined;
    await copier.copyMailbox(m.source, target, { onCheckpoint: (c) => (checkpoint = c) });
    // what was copied is known from the target's APPENDUID, compactly
    expect(checkpoint?.folders.INBOX?.copied).toEqual([[1, expect.any(Number), 5]]);
    await onSession(m.source, async (client) => {
      await client.mailboxOpen('INBOX');
      await client.messageDelete('2,4', { uid: true });
    });
    const reported = await copier.copyMailbox(m.source, target, { checkpoint, syncFlags: true, onCheckpoint: (c) => (checkpoint = c) });
    expect(reported.deletedOnSource.map((d) => [d.subject, d.deletedOnTarget])).toEqual([
      ['keep or not 2', false],
      ['keep or not 4', false],
    ]);
    expect((await folderCounts(m.target)).INBOX).toBe(5);
    const deleted = await copier.copyMailbox(m.source, target, { checkpoint, syncFlags: true, deleteOnTarget: true, onCheckpoint: (c) => (checkpoint = c) });
    expect(deleted.deletedOnSource).toHaveLength(2);
    expect(deleted.deletedOnSource.every((d) => d.deletedOnTarget)).toBe(true);
    const again = await copier.copyMailbox(m.source, target, { checkpoint, syncFlags: true, deleteOnTarget: true });
    expect(again.deletedOnSource).toEqual([]);
    const report = await verifyMailbox(m.source, m.target, { compare });
    console.log(`delta deletions (${name}): ${reported.deletedOnSource.length} reported, ${deleted.deletedOnSource.length} deleted on the target when asked, ${relay?.appends} APPENDs in all; verifier (${verifierIn(relayOptions)}): ${report.findings.length} findings`);
    expect(relay?.appends).toBe(5);
    expect((await folderCounts(m.target)).INBOX).toBe(3);
    expect(report.findings).toEqual([]);
  });

  it('reports a message the target refuses as a bad item and copies the rest', async () => {
    const m = await mailbox();
    await appendMessages(m.source, 'INBOX', [1, 2, 3].map((i) => ({ raw: rawMessage({ subject: `fine ${i}` }) })));
    // Dovecot refuses to APPEND an empty message; the on-prem Maildir can still hold one.
    await writeSourceMaildirMessage(info, m.address, Buffer.alloc(0), new Date('2023-05-05T05:05:05Z'));
    const target = await through(m);
    const result = await copier.copyMailbox(m.source, target);
    expect(result.messagesCopied).toBe(3);
    expect(result.badItems).toHaveLength(1);
    expect(result.badItems[0]).toMatchObject({ folder: 'INBOX', size: 0, subject: null });
    expect(result.badItems[0].reason).toMatch(/refused/);

    const strict = copier.copyMailbox(m.source, target, { badItemLimit: 0 });
    await expect(strict).rejects.toBeInstanceOf(BadItemLimitError);
    await expect(strict).rejects.toMatchObject({ code: 'BAD_ITEM_LIMIT', badItems: [{ folder: 'INBOX', size: 0 }] });
    const report = await verifyMailbox(m.source, m.target, { compare });
    console.log(`bad item (${name}): ${result.messagesCopied} copied, ${result.badItems.length} bad items; verifier (${verifierIn(relayOptions)}): ${report.missing} missing, ${report.extra} extra`);
    expect(report).toMatchObject({ missing: 1, extra: 0, different: 0 });
  });

  it('appends nothing twice when the target refuses message k of a group', async () => {
    const m = await mailbox();
    await appendMessages(m.source, 'INBOX', [1, 2, 3].map((i) => ({ raw: rawMessage({ subject: `before ${i}` }) })));
    // message 4 of the group is empty, which Dovecot refuses, alone or in a MULTIAPPEND; two more follow it
    await writeSourceMaildirMessage(info, m.address, Buffer.alloc(0), new Date('2023-05-05T05:05:05Z'));
    expect((await folderCounts(m.source)).INBOX).toBe(4); // Dovecot gives the file its UID (4) when it next looks at the folder
    await appendMessages(m.source, 'INBOX', [5, 6].map((i) => ({ raw: rawMessage({ subject: `after ${i}` }) })));
    const target = await through(m);
    const result = await copier.copyMailbox(m.source, target);
    const counts = await folderCounts(m.target);
    const report = await verifyMailbox(m.source, m.target, { compare });
    const multi = !relayOptions.hide?.includes('MULTIAPPEND');
    console.log(
      `refusal of message ${result.badItems[0]?.uid} of 6 (${name}, ${multi ? 'MULTIAPPEND' : 'one APPEND each'}): ${result.messagesCopied} copied, ${result.badItems.length} bad items, ` +
        `${relay?.appends} messages handed to the server, target holds ${counts.INBOX}; verifier (${verifierIn(relayOptions)}): ${report.missing} missing, ${report.extra} extra`,
    );
    expect(result.badItems).toEqual([expect.objectContaining({ folder: 'INBOX', uid: 4, size: 0 })]);
    expect(result.messagesCopied).toBe(5);
    // without MULTIAPPEND each message is handed over once; with it, the refused group (atomic) once more, one by one
    expect(relay?.appends).toBe(multi ? 10 : 5);
    expect(counts.INBOX).toBe(5);
    expect(report).toMatchObject({ missing: 1, extra: 0, different: 0 });
  });

  it('stops promptly on abort; the resumed copy brings the rest, at most one group sent again', async () => {
    const m = await mailbox({ messages: 200, seed: 9 });
    const target = await through(m);
    const controller = new AbortController();
    let checkpoint: CopyCheckpoint | undefined;
    const aborted = copier.copyMailbox(m.source, target, {
      signal: controller.signal,
      onCheckpoint: (cp) => {
        checkpoint = cp;
        controller.abort();
      },
    });
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(checkpoint).toBeDefined();
    const before = relay?.appends ?? 0;
    const resumed = await copier.copyMailbox(m.source, target, { checkpoint });
    const total = resumed.messagesCopied + resumed.messagesExisting;
    const report = await verifyMailbox(m.source, m.target, { compare });
    console.log(
      `abort and resume (${name}): ${total} messages; aborted after ${before} handed to the target, ${relay?.appends ?? 0} in all (${(relay?.appends ?? 0) - total} sent again); ` +
        `verifier (${verifierIn(relayOptions)}): ${report.findings.length} findings`,
    );
    // the abort came at the first checkpoint (one group, at most GROUP_MESSAGES): nothing was handed over after it
    expect(before).toBeLessThanOrEqual(GROUP_MESSAGES);
    expect(resumed.messagesCopied).toBe(total - before);
    expect((relay?.appends ?? 0) - total).toBeLessThanOrEqual(GROUP_MESSAGES);
    expect(report.findings).toEqual([]);
  });
});
