/**
 * copyMail heartbeats only when the copy moves: through a relay that stalls
 * the target for STALL_MS mid-copy, no heartbeat arrives during the stall (a
 * timer would keep beating, and a stalled copy would never fail over), and
 * the heartbeats around it carry the copy's progress. The activity runs in
 * the SDK's activity test environment against the real lab servers.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { createMailDataActivities, type CopyHeartbeat } from '../activities/mailData';
import type { ActivityDeps, Connectors } from '../activities/deps';
import { createMailCopier } from '../connectors/mail';
import { startTcpRelay } from '../lab/relays/tcp';
import type { ImapEndpoint } from '../connectors/mail/types';
import type { ConnectionSettings } from '../workflows/definitions';
import { createTestMailbox, labInfo, type TestMailbox } from './helpers/imap';

jest.setTimeout(120_000);

const STALL_MS = 8_000;

/** Forwards both ways; once the client has sent `afterBytes`, holds its data for `ms`, once. */
function stallingRelay(target: ImapEndpoint, afterBytes: number, ms: number) {
  let stalled = false;
  return startTcpRelay(target.host, target.port, (client, upstream) => {
    let sent = 0;
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (!stalled && sent > afterBytes) {
        stalled = true;
        client.pause();
        setTimeout(() => {
          upstream.write(chunk);
          client.resume();
        }, ms);
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
  });
}

let m: TestMailbox;

beforeAll(async () => {
  m = await createTestMailbox(labInfo(), { messages: 300, seed: 11 });
});

afterAll(async () => {
  await m?.remove();
});

it('beats on progress only: silent while the target stalls, then moving again', async () => {
  const relay = await stallingRelay(m.target, 4_000_000, STALL_MS);
  const connectors = {
    sourceImap: () => m.source,
    targetImap: () => ({ ...m.target, port: relay.port }),
    mail: createMailCopier(),
    // the mailbox has no contacts or events: the copy says so, and the row would skip its contacts/calendar step
    dav: { holdsItems: async () => false } as Partial<Connectors['dav']> as Connectors['dav'],
    sourceDav: () => ({ url: 'http://127.0.0.1:1/', user: '', password: '' }),
    // a first copy: the mailbox has no record yet, so no checkpoint to resume from
    ledger: { lookup: async () => null } as Partial<Connectors["ledger"]> as Connectors["ledger"],
  } as Partial<Connectors> as Connectors;
  const activities = createMailDataActivities({ connectors, logger: pino({ level: 'silent' }) } as Partial<ActivityDeps> as ActivityDeps);
  const env = new MockActivityEnvironment();
  const beats: Array<{ at: number; copied: number }> = [];
  env.on('heartbeat', (details: CopyHeartbeat) => beats.push({ at: Date.now(), copied: details.progress?.messagesCopied ?? 0 }));
  const started = Date.now();
  try {
    const result = (await env.run(activities.copyMail, { org: 'heartbeat', settings: {} as ConnectionSettings, address: m.address })) as {
      messagesCopied: number;
    };
    expect(result.messagesCopied).toBe(300);
  } finally {
    await relay.close();
  }
  const gaps = beats.map((b, i) => b.at - (i === 0 ? started : beats[i - 1]!.at));
  const longest = Math.max(...gaps);
  const at = gaps.indexOf(longest);
  console.log(
    `heartbeats: ${beats.length}; longest silence ${longest} ms (the stall is ${STALL_MS} ms), copied ${beats[at - 1]?.copied ?? 0} before it, ${beats[at]?.copied} after`,
  );
  expect(longest).toBeGreaterThanOrEqual(STALL_MS - 1_000);
  // the beats before and after the silence carry the copy's progress
  expect(beats[beats.length - 1]!.copied).toBe(300);
  expect(beats.filter((b) => b.copied > 0).length).toBeGreaterThan(3);
});
