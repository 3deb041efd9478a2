/**
 * Independent check of a mail copy: compares every message of every folder
 * on both sides (raw bytes by SHA-256, flags incl. keywords, INTERNALDATE)
 * as multisets, so n identical copies on the source need n on the target.
 *
 * For a target that rewrites what it stores (bytes differ by design),
 * `compare: 'message-id'` identifies a message by its Message-ID (by subject
 * when it has none) instead of its bytes; INTERNALDATE, flags and the count
 * per folder are compared as before.
 *
 * Library: `verifyMailbox(source, target, options)`.
 * CLI:     `tsx lab/verify.ts --address X [--json] [--strip-header X-TUID:] [--by-message-id] [--m365]`
 *          logs in as the lab's admins (master user) on both sides, or with
 *          `--m365` on the target as the worker does for the Microsoft 365
 *          lab target (the mailbox's address, an app-only XOAUTH2 token from
 *          the lab's token endpoint); exits 1 when the mailboxes differ.
 */
import { Command } from 'commander';
import type { ImapFlow } from 'imapflow';
import { adminEndpoint } from '../connectors/mail';
import { closeImap, openImap } from '../connectors/mail/connect';
import { listFolders, planFolders, type FolderListing } from '../connectors/mail/folders';
import { sha256, storableFlags } from '../connectors/mail/inventory';
import type { ImapEndpoint } from '../connectors/mail/types';
import { createTokenProvider } from '../connectors/m365/token';
import { exchangeOnlineImap } from '../worker/m365Connectors';
import { readLabInfo, type LabInfo } from './info';
import { labM365App } from './oauth/register';

export interface VerifyOptions {
  /** header lines starting with one of these (case-insensitive, e.g. mbsync's `X-TUID:`) are removed before hashing */
  ignoreHeaderPrefixes?: string[];
  /** source folder → target folder; other folders map as the copier maps them (special use, same name) */
  folderMap?: Record<string, string>;
  /** what identifies a message: its bytes (default) or, for a rewriting target, its Message-ID */
  compare?: 'bytes' | 'message-id';
}

export interface VerifyFinding {
  kind: 'missing' | 'extra' | 'different';
  /** source folder ('' for a target folder no source folder maps to) */
  folder: string;
  targetFolder: string;
  subject: string | null;
  reason: string;
}

export interface VerifyReport {
  equal: boolean;
  folders: Array<{ source: string[]; target: string; sourceMessages: number; targetMessages: number }>;
  missing: number;
  extra: number;
  different: number;
  findings: VerifyFinding[];
}

interface Fingerprint {
  folder: string;
  subject: string | null;
  hash: string;
  flags: string;
  /** INTERNALDATE, whole seconds */
  date: number;
}

/** Drops header fields (with their folded continuation lines) that start with one of the prefixes. */
export function stripHeaderLines(raw: Buffer, prefixes: readonly string[]): Buffer {
  if (prefixes.length === 0) return raw;
  const text = raw.toString('latin1'); // byte-preserving
  // The header block keeps its last line's own line break; the blank line starts the rest.
  const blank = /\r?\n(\r?\n)/.exec(text);
  const headerEnd = blank ? blank.index + blank[0].length - blank[1].length : text.length;
  const lower = prefixes.map((p) => p.toLowerCase());
  const lines = text.slice(0, headerEnd).split(/(?<=\n)/);
  let dropping = false;
  const kept = lines.filter((line) => {
    if (/^[ \t]/.test(line)) return !dropping; // continuation of the previous field
    dropping = lower.some((p) => line.toLowerCase().startsWith(p));
    return !dropping;
  });
  return Buffer.from(kept.join('') + text.slice(headerEnd), 'latin1');
}

async function fingerprints(client: ImapFlow, folder: string, nativePath: string, prefixes: string[], compare: VerifyOptions['compare']): Promise<Fingerprint[]> {
  const box = await client.mailboxOpen(nativePath, { readOnly: true });
  const out: Fingerprint[] = [];
  if (box.exists === 0) return out;
  const query = { uid: true, flags: true, internalDate: true, envelope: true, source: compare !== 'message-id' };
  for await (const msg of client.fetch('1:*', query, { uid: true })) {
    const date = msg.internalDate instanceof Date ? msg.internalDate : new Date(msg.internalDate ?? 0);
    out.push({
      folder,
      subject: msg.envelope?.subject ?? null,
      hash:
        compare === 'message-id'
          ? (msg.envelope?.messageId ?? `no Message-ID, subject ${msg.envelope?.subject ?? ''}`)
          : sha256(stripHeaderLines(msg.source ?? Buffer.alloc(0), prefixes)),
      flags: storableFlags(msg.flags).join(' '),
      date: Math.floor(date.getTime() / 1000),
    });
  }
  return out;
}

/** Removes from both lists the entries `key` pairs up, as a multiset; returns the pairs. */
function pairOff(source: Fingerprint[], target: Fingerprint[], key: (f: Fingerprint) => string): Array<[Fingerprint, Fingerprint]> {
  const pool = new Map<string, Fingerprint[]>();
  for (const t of target) pool.set(key(t), [...(pool.get(key(t)) ?? []), t]);
  const pairs: Array<[Fingerprint, Fingerprint]> = [];
  const unmatched: Fingerprint[] = [];
  for (const s of source) {
    const t = pool.get(key(s))?.pop();
    if (t) pairs.push([s, t]);
    else unmatched.push(s);
  }
  source.splice(0, source.length, ...unmatched);
  target.splice(0, target.length, ...[...pool.values()].flat());
  return pairs;
}

/** Findings for one target folder and the source folders that map to it. */
export function compareFolder(targetFolder: string, source: Fingerprint[], target: Fingerprint[]): VerifyFinding[] {
  const s = [...source];
  const t = [...target];
  pairOff(s, t, (f) => `${f.hash} ${f.date} ${f.flags}`);
  const findings: VerifyFinding[] = [];
  for (const [a, b] of pairOff(s, t, (f) => f.hash)) {
    const why = [
      a.flags !== b.flags ? `flags [${a.flags}] on the source, [${b.flags}] on the target` : '',
      a.date !== b.date ? `internal date ${new Date(a.date * 1000).toISOString()} on the source, ${new Date(b.date * 1000).toISOString()} on the target` : '',
    ].filter(Boolean);
    findings.push({ kind: 'different', folder: a.folder, targetFolder, subject: a.subject, reason: why.join('; ') });
  }
  for (const a of s) findings.push({ kind: 'missing', folder: a.folder, targetFolder, subject: a.subject, reason: 'not on the target (no message with the same bytes, or Message-ID)' });
  for (const b of t) findings.push({ kind: 'extra', folder: '', targetFolder, subject: b.subject, reason: 'on the target only' });
  return findings;
}

export async function verifyMailbox(source: ImapEndpoint, target: ImapEndpoint, options: VerifyOptions = {}): Promise<VerifyReport> {
  const prefixes = options.ignoreHeaderPrefixes ?? [];
  const src = await openImap(source);
  const tgt = await openImap(target).catch(async (err: unknown) => {
    await closeImap(src);
    throw err;
  });
  try {
    const [srcList, tgtList]: FolderListing[] = [await listFolders(src), await listFolders(tgt)];
    const pairs = planFolders(srcList, tgtList, { renameFolders: options.folderMap });
    const byTarget = new Map<string, typeof pairs>();
    for (const p of pairs) byTarget.set(p.target, [...(byTarget.get(p.target) ?? []), p]);
    // Target folders no source folder maps to must be empty.
    for (const f of tgtList.folders) if (!byTarget.has(f.path)) byTarget.set(f.path, []);

    const report: VerifyReport = { equal: true, folders: [], missing: 0, extra: 0, different: 0, findings: [] };
    for (const [targetPath, sources] of byTarget) {
      const s: Fingerprint[] = [];
      for (const p of sources) s.push(...(await fingerprints(src, p.source.path, p.source.nativePath, prefixes, options.compare)));
      const native = tgtList.folders.find((f) => f.path === targetPath)?.nativePath;
      const t = native === undefined ? [] : await fingerprints(tgt, targetPath, native, prefixes, options.compare);
      if (native === undefined && s.length === 0) continue;
      report.folders.push({ source: sources.map((p) => p.source.path), target: targetPath, sourceMessages: s.length, targetMessages: t.length });
      const findings = compareFolder(targetPath, s, t);
      if (native === undefined) for (const f of findings) f.reason = `folder ${targetPath} does not exist on the target`;
      report.findings.push(...findings);
    }
    for (const f of report.findings) report[f.kind]++;
    report.equal = report.findings.length === 0;
    return report;
  } finally {
    await Promise.all([closeImap(src), closeImap(tgt)]);
  }
}

/** Admin (master-user) endpoints of one lab mailbox on both sides. */
export function labEndpoints(info: LabInfo, address: string): { source: ImapEndpoint; target: ImapEndpoint } {
  const endpoint = ({ imap }: LabInfo['onprem']): ImapEndpoint =>
    adminEndpoint({ host: imap.host, port: imap.port, secure: imap.secure }, imap.admin, address);
  return { source: endpoint(info.onprem), target: endpoint(info.cloud) };
}

/** The target mailbox of the Microsoft 365 lab target, opened by the lab's app as the worker opens it. */
export function labM365Target(info: LabInfo, address: string): ImapEndpoint {
  const imap = { host: info.cloud.imap.host, port: info.cloud.imap.port, secure: false };
  return exchangeOnlineImap({ imap }, createTokenProvider(labM365App(info.m365)), address);
}

function printReport(address: string, report: VerifyReport): void {
  for (const f of report.folders) {
    console.log(`${f.source.join(', ') || '(none)'} → ${f.target}: ${f.sourceMessages} source, ${f.targetMessages} target`);
  }
  for (const f of report.findings) {
    console.log(`${f.kind.toUpperCase()} ${f.folder || f.targetFolder}: "${f.subject ?? ''}": ${f.reason}`);
  }
  console.log(
    report.equal
      ? `${address}: equal`
      : `${address}: NOT equal (${report.missing} missing, ${report.extra} extra, ${report.different} different)`,
  );
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('verify')
    .description('Compare a lab mailbox on-premises with its copy in the cloud, message by message')
    .requiredOption('--address <address>', 'the mailbox address')
    .option('--json', 'print the report as JSON')
    .option('--strip-header <prefix...>', 'ignore header lines starting with this prefix (e.g. X-TUID:)', [])
    .option('--by-message-id', 'identify messages by Message-ID, not bytes (a target that rewrites messages)')
    .option('--m365', 'open the target as the Microsoft 365 lab target (app-only XOAUTH2), not as the cloud admin')
    .parse(argv);
  const opts = program.opts<{ address: string; json?: boolean; stripHeader: string[]; byMessageId?: boolean; m365?: boolean }>();
  const info = readLabInfo();
  const { source, target: admin } = labEndpoints(info, opts.address);
  const target = opts.m365 ? labM365Target(info, opts.address) : admin;
  const report = await verifyMailbox(source, target, { ignoreHeaderPrefixes: opts.stripHeader, compare: opts.byMessageId ? 'message-id' : 'bytes' });
  if (opts.json) console.log(JSON.stringify(report, null, 2));
  else printReport(opts.address, report);
  process.exitCode = report.equal ? 0 : 1;
}

if (require.main === module) {
  main(process.argv).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    if ((err as { code?: string }).code === 'AUTH_FAILED') {
      console.error('In the lab the cloud side admits a mailbox only once its MEU is converted (the row reached convertToMailbox).');
    }
    process.exitCode = 2;
  });
}
