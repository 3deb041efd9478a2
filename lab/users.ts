/**
 * Organisation users for tests and the seed: one call makes a complete
 * on-premises mailbox (an AD user with Exchange's mailbox attributes, whose
 * password is also its IMAP login; mail, contacts, calendar) and, as
 * directory sync would, its cloud mail-enabled user (MEU).
 *
 * Every user is independent and deterministic given (seed, address), so a
 * test can create its own users and remove them afterwards without touching
 * anyone else's.
 */
import { chown, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { listAdAddresses, mailboxUserEntry, userDn, userDnsByAddress, withDomainAdmin } from './ad/directory';
import { ADMIN, DOMAINS, MAIL_GID, MAIL_UID, SIDES, Side, mailHome, paths, recipientDn, recipientRdn, splitAddress } from './config';
import { removePrincipal, writeAddressBook, writeCalendar } from './davStore';
import { removeHtpasswd, upsertHtpasswd } from './htpasswd';
import { LabInfo, LabUserKind, labUserKind } from './info';
import { deleteIfExists, withLdap } from './ldapClient';
import { removeUsers, waitUntilReloadable } from './passwdFile';
import { chownTree, writeMaildir } from './seed/maildir';
import { FOLDERS, planMailbox } from './seed/mailbox';
import { contacts as makeContacts, events as makeEvents } from './seed/pim';
import { Rng } from './seed/rng';

export { setSourceServerVersion, setTenantDirSync } from './org';

export const orgUserSpec = z.object({
  address: z.string().regex(/^[^@\s:]+@[^@\s:]+\.[^@\s:]+$/, 'an e-mail address'),
  /** no ':' (the passwd-file separator) */
  password: z.string().min(1).regex(/^[^:\n]+$/, 'no colon or newline'),
  kind: labUserKind,
  messages: z.number().int().min(0).default(20),
  seed: z.number().int().default(42),
  /** how many of `messages` are large, each of `largeMessageMb` (min, max) MB */
  largeMessages: z.number().int().min(0).default(0),
  largeMessageMb: z.tuple([z.number().positive(), z.number().positive()]).default([10, 25]),
  contacts: z.number().int().min(0).default(5),
  events: z.number().int().min(0).default(5),
  /** default: every kind but 'no-meu' gets its cloud MEU */
  withMeu: z.boolean().optional(),
  displayName: z.string().optional(),
  /** 'heavy' adds 100–200 KB messages (the bench profile) */
  sizeModel: z.enum(['log', 'heavy']).default('log'),
});
export type OrgUserSpec = z.input<typeof orgUserSpec>;

export interface OrgUserCounts {
  messages: number;
  /** sum of the IMAP sizes (RFC822.SIZE) */
  bytes: number;
  contacts: number;
  events: number;
}

export const legacyExchangeDn = (address: string) => `/o=Tailspin/ou=First Administrative Group/cn=Recipients/cn=${splitAddress(address)[0]}`;
/** the cloud routing address directory sync gives an MEU */
export const routingAddress = (address: string) => `${splitAddress(address)[0]}@${DOMAINS.routing}`;

function names(address: string, displayName?: string): { cn: string; sn: string; givenName: string } {
  const [local] = splitAddress(address);
  const cn = displayName ?? `${local[0].toUpperCase()}${local.slice(1)} Test`;
  const parts = cn.split(' ');
  return { cn, givenName: parts[0], sn: parts.length > 1 ? parts.slice(1).join(' ') : cn };
}

/**
 * The on-prem AD mailbox user (its password is its IMAP login: the on-prem
 * Dovecot binds as the user) and (withMeu) its cloud MEU; exported for the
 * benchmark's bulk user creation.
 */
export async function createDirectoryEntries(
  info: LabInfo,
  address: string,
  kind: LabUserKind,
  withMeu: boolean,
  password: string,
  displayName?: string,
): Promise<void> {
  const name = names(address, displayName);
  await withDomainAdmin(info, (client) =>
    // the CN is the address: unique in the lab's OU, and what an admin searches for
    client.add(
      userDn(address),
      mailboxUserEntry({
        address,
        password,
        cn: address,
        displayName: name.cn,
        givenName: name.givenName,
        sn: name.sn,
        legacyExchangeDN: legacyExchangeDn(address),
        umEnabled: kind === 'um-enabled',
      }),
    ),
  );
  if (!withMeu) return;
  await withLdap(info, 'cloud', (client) =>
    client.add(recipientDn('cloud', address), {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'mfRecipient'],
      uid: recipientRdn(address).slice('uid='.length),
      cn: name.cn,
      sn: name.sn,
      givenName: name.givenName,
      displayName: name.cn,
      mail: address,
      mfRecipientType: 'MailUser',
      targetAddress: `SMTP:${address}`,
      proxyAddresses: [`SMTP:${address}`, `smtp:${routingAddress(address)}`],
    }),
  );
}

/** Makes the home and Maildir parents the mail uid's, so Dovecot can write indexes next to the mail. */
async function prepareHome(side: Side, address: string): Promise<string> {
  const home = mailHome(side, address);
  await mkdir(home, { recursive: true });
  await chown(join(home, '..'), MAIL_UID, MAIL_GID);
  return home;
}

/**
 * Creates (or re-creates: an existing user of that address is removed first)
 * a complete on-prem user and, unless `kind` is 'no-meu' or `withMeu` is
 * false, its cloud MEU. Returns what was created.
 */
export async function createOrgUser(info: LabInfo, input: OrgUserSpec): Promise<OrgUserCounts> {
  const spec = orgUserSpec.parse(input);
  const address = spec.address.toLowerCase();
  const withMeu = spec.withMeu ?? spec.kind !== 'no-meu';
  await removeUserEverywhere(info, address);

  await createDirectoryEntries(info, address, spec.kind, withMeu, spec.password, spec.displayName);

  const home = await prepareHome('onprem', address);
  await upsertHtpasswd('onprem', address, spec.password);

  const rng = new Rng(`mailferry-lab/${spec.seed}/${address}`);
  const owner = { address, name: names(address, spec.displayName).cn };
  const plan = planMailbox(rng.derive('mail'), owner, {
    messages: spec.messages,
    largeMessages: spec.largeMessages,
    largeMessageMb: spec.largeMessageMb,
    sizeModel: spec.sizeModel,
  });
  const maildir = join(home, 'Maildir');
  const { bytes } = await writeMaildir(maildir, FOLDERS, plan.count, plan.build);
  await chownTree(home);

  const contactItems = makeContacts(rng.derive('contacts'), spec.contacts);
  const eventItems = makeEvents(rng.derive('events'), address, spec.events);
  await writeAddressBook('onprem', address, contactItems);
  await writeCalendar('onprem', address, eventItems);

  // the login works when we return, not a second later
  await waitUntilReloadable();
  return { messages: plan.count, bytes, contacts: contactItems.length, events: eventItems.length };
}

/** Removes a user everywhere, both sides (directory, login, mail, DAV); absent parts are fine. Logins fail once it returns. */
export async function removeOrgUser(info: LabInfo, address: string): Promise<void> {
  await removeUserEverywhere(info, address);
  await waitUntilReloadable();
}

async function removeUserEverywhere(info: LabInfo, address: string): Promise<void> {
  const lower = address.toLowerCase();
  if (SIDES.some((side) => lower === ADMIN[side])) throw new Error(`refusing to remove the lab admin ${address}`);
  await withDomainAdmin(info, async (client) => {
    for (const dn of await userDnsByAddress(client, lower)) await deleteIfExists(client, dn);
  });
  await withLdap(info, 'cloud', (client) => deleteIfExists(client, recipientDn('cloud', lower)));
  for (const side of SIDES) {
    await rm(mailHome(side, lower), { recursive: true, force: true });
    await removePrincipal(side, lower);
    await removeHtpasswd(side, lower);
  }
  await removeUsers(paths.dovecot('onprem').users, (user) => user === lower);
}

/** Every user address in either directory (for a full wipe). */
export async function listOrgAddresses(info: LabInfo): Promise<string[]> {
  const found = new Set<string>(await withDomainAdmin(info, listAdAddresses));
  await withLdap(info, 'cloud', async (client) => {
    const { searchEntries } = await client.search(`ou=recipients,${info.cloud.ldap.suffix}`, {
      scope: 'one',
      filter: '(objectClass=mfRecipient)',
      attributes: ['mail'],
    });
    for (const entry of searchEntries) if (typeof entry.mail === 'string') found.add(entry.mail.toLowerCase());
  });
  return [...found].sort();
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * Removes every organisation user (not the admins, not the servers),
 * including leftovers a crashed test never cleaned: mail, DAV and logins
 * that no directory entry points to any more.
 */
export async function wipeOrgUsers(info: LabInfo): Promise<void> {
  for (const address of await listOrgAddresses(info)) await removeUserEverywhere(info, address);
  const isAdmin = (user: string) => SIDES.some((side) => user === ADMIN[side]);
  for (const side of SIDES) {
    for (const domain of await subdirs(paths.mail(side))) {
      for (const local of await subdirs(join(paths.mail(side), domain))) {
        if (!isAdmin(`${local}@${domain}`)) await rm(join(paths.mail(side), domain, local), { recursive: true, force: true });
      }
    }
    const davRoot = join(paths.radicale(side).collections, 'collection-root');
    for (const principal of await subdirs(davRoot)) {
      if (!isAdmin(principal)) await rm(join(davRoot, principal), { recursive: true, force: true });
    }
    await removeUsers(paths.radicale(side).htpasswd, (user) => !isAdmin(user));
  }
  await removeUsers(paths.dovecot('onprem').users, (user) => !isAdmin(user));
  await waitUntilReloadable();
}
