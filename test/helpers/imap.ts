/**
 * Test fixtures for the mail connector: isolated lab mailboxes, messages
 * written into them, and a TCP relay that cuts sessions to the real server.
 */
import { randomBytes } from 'node:crypto';
import { chown, mkdir, utimes, writeFile } from 'node:fs/promises';
import { startTcpRelay } from '../../lab/relays/tcp';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { Attribute, Change } from 'ldapts';
import { closeImap, openImap } from '../../connectors/mail/connect';
import type { ImapEndpoint } from '../../connectors/mail/types';
import { readLabInfo, type LabInfo } from '../../lab/info';
import { recipientDn } from '../../lab/config';
import { withLdap } from '../../lab/ldapClient';
import { createOrgUser, removeOrgUser } from '../../lab/users';
import { labEndpoints } from '../../lab/verify';

export function labInfo(): LabInfo {
  return readLabInfo();
}

export function uniqueAddress(prefix = 'mt'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}@tailspintoys.com`;
}

export interface TestMailbox {
  address: string;
  /** master-user (admin) logins to the on-prem and the cloud mailbox */
  source: ImapEndpoint;
  target: ImapEndpoint;
  remove(): Promise<void>;
}

/** What the row's convertToMailbox step does: the cloud MEU becomes a mailbox its admin can open. */
async function provisionCloudMailbox(info: LabInfo, address: string, password: string): Promise<void> {
  const replace = (type: string, value: string) =>
    new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });
  await withLdap(info, 'cloud', (client) =>
    client.modify(recipientDn('cloud', address), [replace('mfRecipientType', 'UserMailbox'), replace('userPassword', password)]),
  );
}

/** A fresh on-prem mailbox seeded by the lab, with an empty provisioned cloud mailbox. */
export async function createTestMailbox(
  info: LabInfo,
  opts: { messages?: number; seed?: number; largeMessages?: number } = {},
): Promise<TestMailbox> {
  const address = uniqueAddress();
  // A varying length changes the passwd-file's size, which is what lets Dovecot notice a
  // change made within the second of its last read (see untilLoginWorks).
  const password = `Pw-${randomBytes(4 + Math.floor(Math.random() * 12)).toString('hex')}`;
  await createOrgUser(info, {
    address,
    password,
    kind: 'normal',
    messages: opts.messages ?? 0,
    seed: opts.seed ?? 1,
    largeMessages: opts.largeMessages ?? 0,
    contacts: 0,
    events: 0,
  });
  await provisionCloudMailbox(info, address, password);
  const endpoints = labEndpoints(info, address);
  await untilLoginWorks(endpoints.source);
  return { address, ...endpoints, remove: () => removeOrgUser(info, address) };
}

/**
 * Dovecot re-reads the lab's passwd-file only when it sees it change, and a
 * change in the same second as its last read can go unnoticed for a moment:
 * wait until the new user can log in.
 */
async function untilLoginWorks(endpoint: ImapEndpoint): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await closeImap(await openImap(endpoint));
      return;
    } catch (err) {
      if (attempt >= 10) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export function rawMessage(opts: { subject: string; messageId?: string | null; body?: string; date?: Date }): Buffer {
  const date = opts.date ?? new Date('2024-03-01T10:00:00Z');
  const headers = [
    'From: Test Sender <sender@contoso.test>',
    'To: someone@tailspintoys.com',
    `Subject: ${opts.subject}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
  ];
  if (opts.messageId !== null) headers.push(`Message-ID: ${opts.messageId ?? `<${randomBytes(8).toString('hex')}@contoso.test>`}`);
  headers.push('MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8');
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${opts.body ?? `Body of ${opts.subject}`}\r\n`);
}

export interface AppendSpec {
  raw: Buffer;
  flags?: string[];
  date?: Date;
}

/** APPENDs messages to a folder (created when missing) over a fresh session. */
export async function appendMessages(endpoint: ImapEndpoint, folder: string, messages: AppendSpec[]): Promise<void> {
  const client: ImapFlow = await openImap(endpoint);
  try {
    if (folder !== 'INBOX') await client.mailboxCreate(folder).catch(() => undefined);
    for (const m of messages) await client.append(folder, m.raw, m.flags ?? [], m.date ?? new Date('2024-03-01T10:00:00Z'));
  } finally {
    await closeImap(client);
  }
}

/** Writes a message file straight into the on-prem Maildir: for content IMAP APPEND would refuse. */
export async function writeSourceMaildirMessage(info: LabInfo, address: string, bytes: Buffer, date: Date): Promise<void> {
  const [local, domain] = address.toLowerCase().split('@');
  const cur = join(info.onprem.mailDir, domain, local, 'Maildir', 'cur');
  await mkdir(cur, { recursive: true });
  const seconds = Math.floor(date.getTime() / 1000);
  const file = join(cur, `${seconds}.M${randomBytes(3).toString('hex')}P1.mftest,S=${bytes.length}:2,`);
  await writeFile(file, bytes);
  await utimes(file, date, date);
  await chown(file, 5000, 5000);
}

/** Message count per folder, via STATUS. */
export async function folderCounts(endpoint: ImapEndpoint): Promise<Record<string, number>> {
  const client = await openImap(endpoint);
  try {
    const out: Record<string, number> = {};
    for (const f of await client.list({ statusQuery: { messages: true } })) {
      if (!f.flags.has('\\Noselect')) out[f.path] = f.status?.messages ?? 0;
    }
    return out;
  } finally {
    await closeImap(client);
  }
}

export interface DropRelay {
  port: number;
  /** sessions the relay has cut so far */
  drops: number;
  close(): Promise<void>;
}

/**
 * A TCP relay in front of a real server that cuts each of the first `cuts`
 * sessions once the client has sent `afterBytes` bytes: a network drop in
 * the middle of a copy, with the real server on both sides of it.
 */
export async function startDropRelay(host: string, port: number, afterBytes: number, cuts: number): Promise<DropRelay> {
  const relay: DropRelay = { port: 0, drops: 0, close: async () => undefined };
  const tcp = await startTcpRelay(host, port, (client, upstream) => {
    const cut = relay.drops < cuts;
    let sent = 0;
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (cut && sent > afterBytes && !client.destroyed) {
        relay.drops++;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
  });
  relay.port = tcp.port;
  relay.close = tcp.close;
  return relay;
}
