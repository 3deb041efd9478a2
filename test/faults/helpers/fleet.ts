/**
 * The real batch every server fault runs against: five lab mailboxes with
 * ≥ 10,000 messages between them, three of 10–25 MB, plus contacts and
 * events; and the independent check afterwards (verifier, DAV, directory,
 * reports) that turns "the batch finished" into "nothing lost, nothing twice".
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { ImapFlow } from 'imapflow';
import type { LabInfo } from '../../../lab/info';
import { labEndpoints, verifyMailbox, type VerifyOptions } from '../../../lab/verify';
import { createSourceDirectory } from '../../../connectors/directory';
import { verifyDav, type DavEndpoint } from '../../../connectors/dav';
import { listCollections } from '../../../connectors/dav/collections';
import { createDavHttp } from '../../../connectors/dav/http';
import { itemPages, listHrefs } from '../../../connectors/dav/items';
import { closeImap, openImap } from '../../../connectors/mail/connect';
import type { Session } from '../../../client/connection';
import { csvOf, csvSourceOf, type TestUser, type TestUsers } from '../../helpers/backbone';
import type { BatchSource } from '../../../workflows/definitions';
import { csvPassword } from './secrets';

export interface FleetUser extends TestUser {
  messages: number;
  contacts: number;
  events: number;
}

export interface FleetSpec {
  mailboxes: number;
  messagesEach: number;
  /** how many mailboxes get one 10–25 MB message */
  large: number;
  seed: number;
  contacts?: number;
  events?: number;
}

/** A small fleet of its own for every fault: enough to be mid-copy at a random moment, small enough that the suite stays quick. */
export function smallFleet(seed: number, over: Partial<FleetSpec> = {}): FleetSpec {
  return { mailboxes: 2, messagesEach: Number(process.env.FAULT_MESSAGES_EACH ?? 400), large: 0, seed, ...over };
}

export async function createFleet(users: TestUsers, prefix: string, spec: FleetSpec): Promise<FleetUser[]> {
  const out: FleetUser[] = [];
  const contacts = spec.contacts ?? 6;
  const events = spec.events ?? 4;
  for (let i = 0; i < spec.mailboxes; i++) {
    const largeMessages = i < spec.large ? 1 : 0;
    const u = await users.add(`${prefix}${i}`, { messages: spec.messagesEach, largeMessages, contacts, events, seed: spec.seed + i });
    out.push({ ...u, messages: spec.messagesEach, contacts, events });
  }
  return out;
}

export function fleetSource(session: Session, org: string, fleet: FleetUser[], fileName = 'fleet.csv'): BatchSource {
  return csvSourceOf(session, org, csvOf(fleet.map((u) => [u.address, csvPassword(), 'False'])), fileName);
}

/** Messages on the target side so far (0 for a mailbox not provisioned yet): the suite's progress gauge. */
export async function targetMessages(info: LabInfo, addresses: string[]): Promise<number> {
  let total = 0;
  for (const address of addresses) {
    let client: ImapFlow | undefined;
    try {
      client = await openImap(labEndpoints(info, address).target);
      for (const f of await client.list({ statusQuery: { messages: true } })) total += f.status?.messages ?? 0;
    } catch {
      // not provisioned yet, or the server is down on purpose
    } finally {
      await closeImap(client);
    }
  }
  return total;
}

/**
 * Target items that share a UID with another item of their collection:
 * verifyDav compares sets of UIDs, so a second copy of an item is invisible to it.
 */
async function davDuplicates(target: DavEndpoint, address: string): Promise<string[]> {
  const http = createDavHttp(target);
  const out: string[] = [];
  for (const collection of await listCollections(http, address)) {
    const seen = new Map<string, number>();
    for await (const page of itemPages(http, collection, await listHrefs(http, collection)))
      for (const item of page.items) seen.set(item.uid, (seen.get(item.uid) ?? 0) + 1);
    for (const [uid, n] of seen) if (n > 1) out.push(...Array.from({ length: n - 1 }, () => `${collection.name}/${uid}`));
  }
  return out;
}

export interface FleetVerification {
  messagesVerified: number;
  /** messages missing on the target + contacts/events missing there */
  lost: number;
  /** messages on the target beyond the source's + contacts/events there twice or not on the source */
  duplicated: number;
  different: number;
  contactsEventsVerified: number;
  davProblems: string[];
  missingTargetAddress: string[];
  /** per address: messages on the target (what the reports must account for: a message deleted on the source after its copy stays there) */
  targetMessages: Record<string, number>;
  findings: string[];
}

/**
 * Verifier over every mailbox. `removedFromSource` lists subjects deleted on the
 * source after the copy may have taken them: such a message may be on the
 * target once (or not at all), never twice.
 */
export async function verifyFleet(info: LabInfo, fleet: FleetUser[], removedFromSource: Record<string, string[]> = {}, options: VerifyOptions = {}): Promise<FleetVerification> {
  const v: FleetVerification = {
    messagesVerified: 0,
    lost: 0,
    duplicated: 0,
    different: 0,
    contactsEventsVerified: 0,
    davProblems: [],
    missingTargetAddress: [],
    targetMessages: {},
    findings: [],
  };
  const dir = createSourceDirectory({ url: info.onprem.ldap.url, suffix: info.onprem.ldap.suffix, bindDn: info.onprem.ldap.bindDn, password: info.onprem.ldap.password, caFile: info.onprem.ldap.caFile });
  try {
    for (const u of fleet) {
      const { source, target } = labEndpoints(info, u.address);
      const report = await verifyMailbox(source, target, options);
      const allowed = [...(removedFromSource[u.address] ?? [])];
      let extra = 0;
      for (const f of report.findings) {
        const i = f.kind === 'extra' ? allowed.indexOf(f.subject ?? '') : -1;
        if (i >= 0) {
          allowed.splice(i, 1);
          continue;
        }
        if (f.kind === 'extra') extra++;
        v.findings.push(`${u.address}: ${f.kind} ${f.folder || f.targetFolder} "${f.subject ?? ''}": ${f.reason}`);
      }
      const sourceCount = report.folders.reduce((n, f) => n + f.sourceMessages, 0);
      v.targetMessages[u.address] = report.folders.reduce((n, f) => n + f.targetMessages, 0);
      v.messagesVerified += sourceCount - report.missing - report.different;
      v.lost += report.missing;
      v.duplicated += extra;
      v.different += report.different;

      const dav = await verifyDav(
        { url: info.onprem.dav.url, user: info.onprem.dav.admin.user, password: info.onprem.dav.admin.password },
        { url: info.cloud.dav.url, user: info.cloud.dav.admin.user, password: info.cloud.dav.admin.password },
        u.address,
      );
      const twice = await davDuplicates({ url: info.cloud.dav.url, user: info.cloud.dav.admin.user, password: info.cloud.dav.admin.password }, u.address);
      const davMissing = [...dav.contacts.missing, ...dav.events.missing];
      const davExtra = [...dav.contacts.extra, ...dav.events.extra, ...twice];
      v.lost += davMissing.length;
      v.duplicated += davExtra.length;
      if (davMissing.length || davExtra.length) v.davProblems.push(`${u.address}: ${JSON.stringify({ ...dav, onTargetTwice: twice })}`);
      else v.contactsEventsVerified += u.contacts + u.events;

      const mailbox = await dir.findMailbox(u.address);
      if (!mailbox?.targetAddress) v.missingTargetAddress.push(u.address);
    }
  } finally {
    await dir.close();
  }
  return v;
}

interface CompleteRow {
  EmailAddress: string;
  State: string;
  MessagesCopied: string;
  MessagesAlreadyThere: string;
  ItemsSkipped: string;
}

/**
 * The MigrationComplete.csv of the batches (later batches win for an address)
 * must account for every message on the target: copied + already there + skipped.
 * Returns the mismatches, empty when the reports tell the truth.
 */
export function reportMismatches(reportPaths: string[][], targetMessages: Record<string, number>): string[] {
  const latest = new Map<string, CompleteRow>();
  for (const paths of reportPaths) {
    const file = paths.find((p) => p.endsWith('MigrationComplete.csv'));
    if (!file) continue;
    const rows = parse(readFileSync(file, 'utf8'), { columns: true, bom: true }) as CompleteRow[];
    for (const r of rows) latest.set(r.EmailAddress.toLowerCase(), r);
  }
  const problems: string[] = [];
  for (const [address, count] of Object.entries(targetMessages)) {
    const r = latest.get(address);
    if (!r) {
      problems.push(`${address}: in no MigrationComplete.csv`);
      continue;
    }
    const accounted = Number(r.MessagesCopied) + Number(r.MessagesAlreadyThere) + Number(r.ItemsSkipped);
    if (r.State !== 'completed' || accounted !== count) {
      problems.push(`${address}: report says ${r.State}, ${r.MessagesCopied} copied + ${r.MessagesAlreadyThere} already there + ${r.ItemsSkipped} skipped = ${accounted}; the verifier counts ${count} on the target`);
    }
  }
  return problems;
}

/** The verifier's verdict on a row's own mailboxes, and the batches (resumes, delta passes) it took. */
export interface RowCheck {
  v: FleetVerification;
  mismatches: string[];
  batchesFinished: number;
}

export async function checkRow(
  info: LabInfo,
  fleet: FleetUser[],
  results: { phase: string; reports: string[] }[],
  removedFromSource: Record<string, string[]> = {},
  options: VerifyOptions = {},
): Promise<RowCheck> {
  const v = await verifyFleet(info, fleet, removedFromSource, options);
  return { v, mismatches: reportMismatches([results.map((r) => r.reports)].flat(), v.targetMessages), batchesFinished: results.filter((r) => r.phase === 'completed').length };
}

/** The assertions every mail row makes about its own mailboxes. */
export function expectClean({ v, mismatches }: RowCheck): void {
  expect(v.findings).toEqual([]);
  expect({ lost: v.lost, duplicated: v.duplicated, different: v.different }).toEqual({ lost: 0, duplicated: 0, different: 0 });
  expect(v.davProblems).toEqual([]);
  expect(v.missingTargetAddress).toEqual([]);
  expect(mismatches).toEqual([]);
}
