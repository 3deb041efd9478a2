/**
 * Which source folders are copied, and where each one lands on the target.
 *
 * Paths are handled in a canonical form, levels joined by `/`, so patterns,
 * rename rules, checkpoints and reports read the same whatever hierarchy
 * delimiter either server uses; they are translated back to each server's
 * own delimiter only when a command is sent. imapflow already decodes
 * modified UTF-7, so these are plain UTF-8 strings.
 */
import type { ImapFlow, ListResponse } from 'imapflow';
import { matchesAny } from './glob';

/** Special-use folders that have a natural counterpart on the target (RFC 6154). */
export const MAPPED_SPECIAL_USES = ['\\Sent', '\\Trash', '\\Drafts', '\\Junk'] as const;

export interface FolderEntry {
  /** canonical path, levels joined by `/` */
  path: string;
  /** the path as the server spells it (its own delimiter) */
  nativePath: string;
  specialUse?: string;
  /** imapflow guessed the special use from the name; the server declared none */
  specialUseGuessed?: boolean;
  subscribed: boolean;
}

export interface FolderPair {
  source: FolderEntry;
  /** canonical target path */
  target: string;
  /** target path in the target's delimiter */
  targetNative: string;
  /** whether the target folder exists already */
  targetExists: boolean;
}

export interface FolderRules {
  includeFolders?: string[];
  excludeFolders?: string[];
  renameFolders?: Record<string, string>;
}

export interface FolderListing {
  delimiter: string;
  folders: FolderEntry[];
}

function canonical(path: string, delimiter: string): string {
  if (/^inbox$/i.test(path)) return 'INBOX';
  return delimiter && delimiter !== '/' ? path.split(delimiter).join('/') : path;
}

export function toNative(path: string, delimiter: string): string {
  return delimiter && delimiter !== '/' ? path.split('/').join(delimiter) : path;
}

function isSelectable(entry: ListResponse): boolean {
  return !entry.flags.has('\\Noselect') && !entry.flags.has('\\NonExistent');
}

/** Lists the selectable folders of a session (LIST + LSUB, no STATUS). */
export async function listFolders(client: ImapFlow): Promise<FolderListing> {
  const entries = await client.list();
  const delimiter = entries.find((e) => e.delimiter)?.delimiter ?? client.namespace?.delimiter ?? '/';
  const folders = entries.filter(isSelectable).map((e) => ({
    path: canonical(e.path, e.delimiter || delimiter),
    nativePath: e.path,
    specialUse: e.specialUse,
    specialUseGuessed: e.specialUse !== undefined && e.specialUseSource === 'name',
    subscribed: e.subscribed,
  }));
  return { delimiter, folders };
}

/** Applies a rename rule to a path or any folder below it; the longest matching rule wins. */
export function renamePath(path: string, rules: Record<string, string>): string | undefined {
  let best: string | undefined;
  for (const from of Object.keys(rules)) {
    if ((path === from || path.startsWith(`${from}/`)) && (best === undefined || from.length > best.length)) best = from;
  }
  return best === undefined ? undefined : rules[best] + path.slice(best.length);
}

/**
 * The folders to copy and their target paths. An explicit rename rule wins;
 * otherwise a source folder the server marks special-use goes to the
 * target's folder of the same use when the target has one ("Sent Items" →
 * "Sent"), else keeps its name.
 */
export function planFolders(source: FolderListing, target: FolderListing, rules: FolderRules = {}): FolderPair[] {
  // On the target a declared special use wins over one guessed from a name.
  const targetByUse = new Map<string, FolderEntry>();
  for (const f of [...target.folders].sort((a, b) => Number(!!a.specialUseGuessed) - Number(!!b.specialUseGuessed))) {
    if (f.specialUse && !targetByUse.has(f.specialUse)) targetByUse.set(f.specialUse, f);
  }
  const targetPaths = new Set(target.folders.map((f) => f.path));
  const pairs: FolderPair[] = [];
  for (const folder of source.folders) {
    if (rules.includeFolders?.length && !matchesAny(folder.path, rules.includeFolders)) continue;
    if (rules.excludeFolders?.length && matchesAny(folder.path, rules.excludeFolders)) continue;
    let targetPath = renamePath(folder.path, rules.renameFolders ?? {});
    if (targetPath === undefined) {
      // Only a use the source server declares moves a folder: a user's own folder that merely
      // looks like "Sent" must not be merged into the target's Sent Items.
      const use = folder.specialUseGuessed ? undefined : folder.specialUse;
      const counterpart = use && (MAPPED_SPECIAL_USES as readonly string[]).includes(use) ? targetByUse.get(use) : undefined;
      targetPath = counterpart?.path ?? folder.path;
    }
    if (/^inbox$/i.test(targetPath)) targetPath = 'INBOX';
    pairs.push({
      source: folder,
      target: targetPath,
      targetNative: targetPath === 'INBOX' ? 'INBOX' : toNative(targetPath, target.delimiter),
      targetExists: targetPaths.has(targetPath),
    });
  }
  return pairs;
}
