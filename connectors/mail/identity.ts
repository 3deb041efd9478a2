/**
 * Which source messages are already on the target.
 *
 * A message's identity is its Message-ID plus its content. Hashing every
 * body on both sides would make a delta run as slow as a full copy, so the
 * cheap key (Message-ID, RFC822.SIZE, INTERNALDATE) decides alone whenever it
 * is unambiguous (one message with that key on each side); only the groups
 * where it is not (duplicates, no Message-ID, a shared Message-ID) are
 * settled by SHA-256 of the raw bytes, matched as multisets so that n
 * identical copies on the source end as n copies on the target.
 *
 * A target that rewrites what it stores (Exchange Online renders an appended
 * message anew: other bytes, other size) defeats both keys. So a source
 * message with no exact match still finds its copy by Message-ID plus an
 * INTERNALDATE within REWRITE_TOLERANCE_MS (without a Message-ID: by subject
 * and INTERNALDATE to the second), among the target messages whose own key
 * matches no source message (bytes the copier never sent as they are).
 */

/** INTERNALDATE drift a rewriting target may introduce (servers round or re-stamp it). */
export const REWRITE_TOLERANCE_MS = 2 * 60 * 60 * 1000;

export interface MessageMeta {
  uid: number;
  size: number;
  /** INTERNALDATE in ms since the epoch (IMAP carries whole seconds) */
  internalDate: number;
  messageId: string | null;
  flags: string[];
  subject: string | null;
  /** the Date header as ISO, when parseable */
  date: string | null;
}

export type IdentityFields = Pick<MessageMeta, 'messageId' | 'size' | 'internalDate'>;

export function identityKey(m: IdentityFields): string {
  return `${m.messageId?.trim() ?? ''}\u0000${m.size}\u0000${Math.floor(m.internalDate / 1000)}`;
}

export interface MatchGroup {
  source: MessageMeta[];
  target: MessageMeta[];
}

export interface MatchPlan {
  /** source UIDs that must be copied, decided without hashing */
  copy: Set<number>;
  /** groups to settle by content hash */
  ambiguous: MatchGroup[];
}

function groupBy(messages: readonly MessageMeta[]): Map<string, MessageMeta[]> {
  const map = new Map<string, MessageMeta[]>();
  for (const m of messages) {
    const key = identityKey(m);
    const list = map.get(key);
    if (list) list.push(m);
    else map.set(key, [m]);
  }
  return map;
}

/**
 * `source` holds every (non-filtered) message of the folder, also those a
 * checkpoint says are copied already (UID ≤ lastUid): they are never copied
 * again, but they take their place on the target, so a later duplicate of
 * them is still copied.
 */
function rewriteKey(m: Pick<MessageMeta, 'messageId' | 'subject'>): string {
  const id = m.messageId?.trim();
  return id ? `id ${id}` : `subject ${m.subject ?? ''}`;
}

/**
 * The claim on target copies that a rewriting target left: target messages
 * whose own key matches no source message, found again by Message-ID and
 * INTERNALDATE (or subject and INTERNALDATE), each claimed once.
 */
function rewrittenCopies(sourceGroups: Map<string, MessageMeta[]>, targetGroups: Map<string, MessageMeta[]>): (m: MessageMeta) => MessageMeta | null {
  const rewritten = new Map<string, MessageMeta[]>();
  for (const [key, group] of targetGroups) {
    if (sourceGroups.has(key)) continue;
    for (const m of group) rewritten.set(rewriteKey(m), [...(rewritten.get(rewriteKey(m)) ?? []), m]);
  }
  return (m) => {
    const candidates = rewritten.get(rewriteKey(m));
    const tolerance = m.messageId?.trim() ? REWRITE_TOLERANCE_MS : 999;
    const at = candidates?.findIndex((t) => Math.abs(t.internalDate - m.internalDate) <= tolerance) ?? -1;
    return at < 0 ? null : (candidates?.splice(at, 1)[0] ?? null);
  };
}

export function planMatches(source: readonly MessageMeta[], target: readonly MessageMeta[], lastUid: number): MatchPlan {
  const targetGroups = groupBy(target);
  const sourceGroups = groupBy(source);
  const claimRewritten = rewrittenCopies(sourceGroups, targetGroups);
  const copy = new Set<number>();
  const ambiguous: MatchGroup[] = [];
  for (const [key, group] of sourceGroups) {
    const fresh = group.filter((m) => m.uid > lastUid);
    if (fresh.length === 0) continue;
    const onTarget = targetGroups.get(key) ?? [];
    if (onTarget.length === 0) {
      // what the checkpoint vouches for claims its rewritten copy first
      for (const m of group.filter((g) => g.uid <= lastUid)) claimRewritten(m);
      for (const m of fresh) if (!claimRewritten(m)) copy.add(m.uid);
    } else if (group.length === 1 && onTarget.length === 1) {
      continue;
    } else {
      ambiguous.push({ source: group, target: onTarget });
    }
  }
  return { copy, ambiguous };
}

/**
 * Each source message with the target message known to be its copy without
 * hashing (a key unique on both sides, or a rewritten copy): what a delta
 * pass syncs flags between. Messages in ambiguous groups are left out.
 */
export function pairMessages(source: readonly MessageMeta[], target: readonly MessageMeta[]): Array<[MessageMeta, MessageMeta]> {
  const targetGroups = groupBy(target);
  const sourceGroups = groupBy(source);
  const claimRewritten = rewrittenCopies(sourceGroups, targetGroups);
  const pairs: Array<[MessageMeta, MessageMeta]> = [];
  for (const [key, group] of sourceGroups) {
    const onTarget = targetGroups.get(key) ?? [];
    if (group.length === 1 && onTarget.length === 1) pairs.push([group[0]!, onTarget[0]!]);
    else if (onTarget.length === 0)
      for (const m of group) {
        const copy = claimRewritten(m);
        if (copy) pairs.push([m, copy]);
      }
  }
  return pairs;
}

/** Multiset match of one ambiguous group by content hash; returns the source UIDs to copy. */
export function settleByHash(
  group: MatchGroup,
  hashes: { source: ReadonlyMap<number, string>; target: ReadonlyMap<number, string> },
  lastUid: number,
): number[] {
  const available = new Map<string, number>();
  for (const m of group.target) {
    const h = hashes.target.get(m.uid);
    if (h !== undefined) available.set(h, (available.get(h) ?? 0) + 1);
  }
  // Messages the checkpoint vouches for claim their target copies first.
  const ordered = [...group.source].sort((a, b) => Number(b.uid <= lastUid) - Number(a.uid <= lastUid) || a.uid - b.uid);
  const copy: number[] = [];
  for (const m of ordered) {
    const h = hashes.source.get(m.uid);
    const left = h === undefined ? 0 : (available.get(h) ?? 0);
    if (left > 0) available.set(h as string, left - 1);
    else if (m.uid > lastUid && h !== undefined) copy.push(m.uid);
  }
  return copy.sort((a, b) => a - b);
}

/**
 * The messages of `mine` that `others` already hold, each paired with the one holding it (each of `others` holds
 * at most one): by the exact key first, then as on a rewriting target by Message-ID (or subject) and INTERNALDATE.
 */
export function heldBy(mine: readonly MessageMeta[], others: readonly MessageMeta[]): Array<[MessageMeta, MessageMeta]> {
  const exact = groupBy(others);
  const pairs: Array<[MessageMeta, MessageMeta]> = [];
  const unmatched: MessageMeta[] = [];
  for (const m of mine) {
    const held = exact.get(identityKey(m))?.shift();
    if (held) pairs.push([m, held]);
    else unmatched.push(m);
  }
  const claimRewritten = rewrittenCopies(groupBy(unmatched), new Map([...exact].filter(([, left]) => left.length > 0)));
  for (const m of unmatched) {
    const held = claimRewritten(m);
    if (held) pairs.push([m, held]);
  }
  return pairs;
}
