/**
 * Messages the read-ahead misses: a source whose FETCH answer leaves a
 * message out (a relay in front of the real Dovecot drops that answer). The
 * copy counts the miss and FETCHes the message again alone; a message that
 * stays unreadable is listed as a bad item, so the checkpoint never moves
 * past a message that is neither on the target nor listed. Against each
 * target (helpers/targets), judged by the verifier mode that fits it.
 */
import { createMailCopier, type ImapEndpoint } from '../connectors/mail';
import { startImapRelay, type ImapRelay, type ImapRelayOptions } from '../lab/relays/imap';
import { verifyMailbox } from '../lab/verify';
import { createTestMailbox, labInfo, type TestMailbox } from './helpers/imap';
import { compareOn, TARGETS, verifierIn } from './helpers/targets';

jest.setTimeout(300_000);

/** the UID whose FETCH answers the relay drops, in every folder that has it */
const UID = 7;

let m: TestMailbox;
const relays: ImapRelay[] = [];

beforeEach(async () => {
  m = await createTestMailbox(labInfo(), { messages: 120, seed: 5 });
});

afterEach(async () => {
  for (const relay of relays.splice(0)) await relay.close();
  await m?.remove();
});

async function through(endpoint: ImapEndpoint, options: ImapRelayOptions): Promise<{ relay: ImapRelay; endpoint: ImapEndpoint }> {
  const relay = await startImapRelay(endpoint.host, endpoint.port, options);
  relays.push(relay);
  return { relay, endpoint: { ...endpoint, port: relay.port } };
}

describe.each(TARGETS)('read-ahead, to %s', (name, targetOptions) => {
  const compare = compareOn(targetOptions);

  it('counts a message left out of its group FETCH, fetches it again alone and copies it', async () => {
    let dropped = 0;
    // once: the first answer carrying UID 7's body (the first folder that has one); the retry gets through
    const { relay, endpoint: source } = await through(m.source, { dropFetch: (uid) => uid === UID && dropped++ === 0 });
    const { relay: targetRelay, endpoint: target } = await through(m.target, targetOptions);
    let last: unknown;
    const result = await createMailCopier().copyMailbox(source, target, { onCheckpoint: (c) => (last = c) });
    const report = await verifyMailbox(m.source, m.target, { compare });
    console.log(
      `read-ahead miss (${name}): ${relay.droppedFetches} FETCH answer dropped, ${result.readAheadMisses} counted, ${result.messagesCopied} copied ` +
        `(${targetRelay.appends} handed to the target), ${result.badItems.length} bad items; verifier (${verifierIn(targetOptions)}): ${report.missing} missing, ${report.extra} extra, ${report.different} different`,
    );
    expect(relay.droppedFetches).toBe(1);
    expect(result.readAheadMisses).toBe(1);
    expect(result.badItems).toEqual([]);
    expect(result.messagesVanished).toBe(0);
    expect(last).toBeDefined();
    expect(report).toMatchObject({ missing: 0, extra: 0, different: 0 });
    expect(result.messagesCopied).toBe(report.folders.reduce((n, f) => n + f.sourceMessages, 0));
  });

  it('lists a message the source never returns as a bad item, and nothing else is missing', async () => {
    const { relay, endpoint: source } = await through(m.source, { dropFetch: (uid) => uid === UID });
    const { endpoint: target } = await through(m.target, targetOptions);
    const result = await createMailCopier().copyMailbox(source, target);
    const report = await verifyMailbox(m.source, m.target, { compare });
    console.log(
      `unreadable (${name}): ${relay.droppedFetches} FETCH answers dropped, ${result.readAheadMisses} misses, ${result.messagesCopied} copied, ${result.badItems.length} bad items; ` +
        `verifier (${verifierIn(targetOptions)}): ${report.missing} missing, ${report.extra} extra`,
    );
    // every folder holding a seventh message: its group FETCH and the FETCH alone were both dropped
    expect(result.readAheadMisses).toBeGreaterThanOrEqual(1);
    expect(relay.droppedFetches).toBe(2 * result.readAheadMisses);
    expect(result.badItems).toHaveLength(result.readAheadMisses);
    for (const bad of result.badItems) {
      expect(bad.uid).toBe(UID);
      expect(bad.reason).toMatch(/neither with its group nor alone/);
    }
    expect(report.missing).toBe(result.badItems.length);
    expect(report).toMatchObject({ extra: 0, different: 0 });
  });
});
