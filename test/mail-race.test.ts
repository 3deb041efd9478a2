/**
 * Two attempts of one mailbox's copy at once: what a network cut leaves when
 * the heartbeat timeout gives up on an attempt whose session was only frozen,
 * and the retry copies while the thawed attempt goes on. Both start from the
 * same (empty) view of the target here, the worst case: every message is
 * appended twice unless the copier notices. Against the lab's plain Dovecot,
 * a target without MULTIAPPEND and one that rewrites what it stores; the lab
 * verifier then requires every message exactly once (by Message-ID, date,
 * flags and count on the rewriting target, whose bytes differ by design).
 */
import { createMailCopier } from '../connectors/mail';
import { startImapRelay } from '../lab/relays/imap';
import { verifyMailbox } from '../lab/verify';
import type { LabInfo } from '../lab/info';
import { createTestMailbox, labInfo, type TestMailbox } from './helpers/imap';
import { compareOn, TARGETS } from './helpers/targets';

const copier = createMailCopier();
let info: LabInfo;
const mailboxes: TestMailbox[] = [];

beforeAll(() => {
  info = labInfo();
});

afterAll(async () => {
  for (const m of mailboxes) await m.remove();
});

describe.each(TARGETS)('two attempts copying at once to %s', (name, relayOptions) => {
  it('leave every message on the target once', async () => {
    const m = await createTestMailbox(info, { messages: 240, seed: 31 });
    mailboxes.push(m);
    // plain Dovecot through the relay too (with nothing to change): every attempt's session is its own connection either way
    const relay = await startImapRelay(m.target.host, m.target.port, relayOptions);
    const target = { ...m.target, port: relay.port };
    try {
      const [a, b] = await Promise.all([copier.copyMailbox(m.source, target), copier.copyMailbox(m.source, target)]);
      console.log(`race on ${name}: copied ${a.messagesCopied} + ${b.messagesCopied}, deleted again ${a.racedCopies} + ${b.racedCopies}, source ${a.messagesSource}`);
      const report = await verifyMailbox(m.source, m.target, { compare: compareOn(relayOptions) });
      expect(report.findings).toEqual([]);
      // the attempts did race (each appended what the other did too), and between them copied each message once
      expect(a.racedCopies + b.racedCopies).toBeGreaterThan(0);
      expect(a.messagesCopied + b.messagesCopied).toBe(a.messagesSource);
    } finally {
      await relay.close();
    }
  });
});
