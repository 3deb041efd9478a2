/**
 * The benchmark's view of its lab: the seeded mailboxes, their master-user
 * endpoints, and the two target operations every copy run needs (cloud
 * mailboxes that exist, and a target emptied between runs).
 */
import { rm } from 'node:fs/promises';
import { mailHome } from '../lab/config';
import { removePrincipal } from '../lab/davStore';
import type { LabInfo } from '../lab/info';
import { replace, withLdap } from '../lab/ldapClient';
import { recipientDn } from '../lab/config';
import { labEndpoints } from '../lab/verify';
import type { ImapEndpoint } from '../connectors/mail/types';

export interface BenchMailbox {
  address: string;
  messages: number;
  bytes: number;
  source: ImapEndpoint;
  target: ImapEndpoint;
}

/** The seed's normal users (the bench profile's 5 × 2,000 messages). */
export function seededMailboxes(info: LabInfo): BenchMailbox[] {
  const users = (info.seed?.users ?? []).filter((u) => u.kind === 'normal');
  if (users.length === 0) throw new Error('the bench lab has no seeded users: run the seed step first');
  return users.map((u) => ({ address: u.address, messages: u.messages, bytes: u.bytes, ...labEndpoints(info, u.address) }));
}

export function mailboxOf(info: LabInfo, address: string, messages: number, bytes: number): BenchMailbox {
  return { address, messages, bytes, ...labEndpoints(info, address) };
}

/**
 * Makes the cloud MEUs mailboxes (what the batch's convertToMailbox step does),
 * so the copy-only runs and the peer tools can log in to the target.
 */
export async function provisionCloud(info: LabInfo, addresses: string[]): Promise<void> {
  await withLdap(info, 'cloud', async (client) => {
    for (const address of addresses) await client.modify(recipientDn('cloud', address), [replace('mfRecipientType', 'UserMailbox')]);
  });
}

/**
 * Empties the target side of these mailboxes (cloud mail and DAV) and keeps
 * their directory entries, so the next run starts from an empty cloud
 * mailbox. Only call it while nothing is logged in to them.
 */
export async function wipeTarget(addresses: string[]): Promise<void> {
  for (const address of addresses) {
    await rm(mailHome('cloud', address), { recursive: true, force: true });
    await removePrincipal('cloud', address);
  }
}
