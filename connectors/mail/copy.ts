/**
 * Copying one folder: decide what is missing on the target, then stream it
 * there. The source connection FETCHes bodies ahead into a byte-bounded
 * queue while the target connection APPENDs groups from it, so both servers
 * work at once; a group's confirmation is the durable step that advances the
 * checkpoint.
 */
import type { FetchMessageObject, ImapFlow } from 'imapflow';
import { AppendRejected, appendFile, appendGroup, appendOne, type AppendItem, type Appended, type SpilledBody } from './append';
import { addCopies, copies, withoutSources } from './copyMap';
import { skipReason } from './filters';
import { heldBy, pairMessages, planMatches, settleByHash, type MessageMeta } from './identity';
import { fetchInventory, hashBodies, metaOf, storableFlags } from './inventory';
import type { FolderPair } from './folders';
import { ByteBoundedQueue } from './queue';
import type { CopyRun } from './run';
import { discard, SPILL_BYTES, SpillDir } from './spill';
import type { BadItem } from './types';

/** A group is confirmed (and checkpointed) at this many messages or bytes, whichever comes first. */
export const GROUP_MESSAGES = 50;
export const GROUP_BYTES = 10 * 1024 * 1024;
/** Messages already on the target still advance the checkpoint, in steps of this many. */
const GROUP_ITEMS = 1000;
const FETCH_MESSAGES = 200;
// Sized by the bench (5 mailboxes at once): 4 MB FETCH chunks and 12 MB read-ahead copy as fast as
// 16/32 MB did, with the worker's peak RSS about 70 MB lower; the target's APPEND sets the pace.
const FETCH_BYTES = 4 * 1024 * 1024;
const READ_AHEAD_BYTES = 12 * 1024 * 1024;

type Action = 'copy' | 'existing' | 'skip' | 'too-large';
interface WorkItem {
  meta: MessageMeta;
  action: Action;
  reason?: string;
}
/** What the reader hands the writer: a work item, with its body when it is to be copied. */
interface Ready extends WorkItem {
  body?: Buffer;
  /** a large message's body, in a file (spill.ts): appended alone, a chunk at a time */
  spilled?: SpilledBody;
  /** the chunk's FETCH left it out, so it was fetched again alone */
  missed?: boolean;
  /** gone from the source since the inventory (expunged): nothing left to copy */
  vanished?: boolean;
  /** still on the source, but neither FETCH returned its body */
  unreadable?: boolean;
}

interface Sessions {
  source: ImapFlow;
  target: ImapFlow;
}

type FolderState = CopyRun['checkpoint']['folders'][string];

export async function copyFolder(sessions: Sessions, pair: FolderPair, run: CopyRun): Promise<void> {
  await run.renewTarget(sessions);
  const { source, target } = sessions;
  const path = pair.source.path;
  const box = await source.mailboxOpen(pair.source.nativePath, { readOnly: true });
  const uidValidity = String(box.uidValidity);
  const saved = run.checkpoint.folders[path] ?? (await followRename(target, pair, run, uidValidity));
  const state = saved && saved.uidValidity === uidValidity ? saved : { uidValidity, lastUid: 0, done: false };
  run.checkpoint.folders[path] = state;
  // What the checkpoint this run started from covers was put on the target by an earlier attempt: count it
  // as already there, once per run (a reconnect pass must not count it again), so copied + existing adds up.
  const firstVisit = run.firstVisit(path);
  if (run.options.syncFlags && firstVisit && pair.targetExists) await deltaFolder(sessions, pair, run, state);
  if (state.done && box.uidNext - 1 <= state.lastUid) {
    run.sourceCounts.set(path, box.exists);
    if (firstVisit) run.messagesExisting += box.exists;
    return; // nothing arrived since the folder was finished
  }

  await ensureTargetFolder(target, pair);
  const work = await planFolder(sessions, pair, run, state.lastUid, firstVisit);
  run.throwIfAborted();
  if (target.mailbox) await target.mailboxClose(); // appends to a selected mailbox cost imapflow extra round trips
  if (work.length > 0) await streamFolder(sessions, pair, run, work, state);
  state.done = true;
  run.saveCheckpoint();
}

/**
 * The delta pass of one folder: sets the flags of each copied message on the
 * target to the source's (the source wins), and finds, through the map of
 * what was copied, the target messages whose source message is gone.
 */
async function deltaFolder(sessions: Sessions, pair: FolderPair, run: CopyRun, state: FolderState): Promise<void> {
  const { source, target } = sessions;
  const sourceAll = await fetchInventory(source);
  const sourceMessages = sourceAll.filter((m) => skipReason(m, run.options, Date.now()) === undefined);
  const box = await target.mailboxOpen(pair.targetNative);
  const targetMessages = await fetchInventory(target);
  for (const [from, to] of pairMessages(sourceMessages, targetMessages)) {
    if (from.flags.join(' ') === to.flags.join(' ')) continue;
    await target.messageFlagsSet(String(to.uid), from.flags, { uid: true });
    run.flagsUpdated++;
  }
  if (state.copied && state.targetUidValidity === String(box.uidValidity)) {
    const present = new Set(sourceAll.map((m) => m.uid));
    const onTarget = new Map(targetMessages.map((m) => [m.uid, m]));
    const gone = new Set<number>();
    const doomed: number[] = [];
    for (const [from, to] of copies(state.copied)) {
      if (present.has(from)) continue;
      const copy = onTarget.get(to);
      if (copy && run.options.deleteOnTarget) doomed.push(to);
      if (copy) run.deletedOnSource.push({ folder: pair.source.path, subject: copy.subject, date: copy.date, deletedOnTarget: !!run.options.deleteOnTarget });
      // kept in the map while the copy stays, so every delta pass reports it
      if (!copy || run.options.deleteOnTarget) gone.add(from);
    }
    if (doomed.length > 0) await target.messageDelete(doomed.join(','), { uid: true });
    if (gone.size > 0) {
      state.copied = withoutSources(state.copied, gone);
      run.saveCheckpoint();
    }
  }
  await target.mailboxClose();
}

/** Records which target messages a group's appends became (UIDPLUS), for later delta passes. */
function recordCopies(state: FolderState, sourceUids: number[], appended: Appended): void {
  if (state.targetUidValidity !== appended.uidValidity) {
    state.targetUidValidity = appended.uidValidity;
    state.copied = [];
  }
  state.copied = addCopies(state.copied ?? [], sourceUids.map((uid, i) => [uid, appended.uids[i]!] as const));
}

/**
 * A source folder the checkpoint does not know, with the UIDVALIDITY of a
 * checkpointed folder that is gone from the source, is that folder renamed
 * (servers keep UIDVALIDITY across RENAME). Its copy on the target is renamed
 * to match and its checkpoint carried over, so nothing is copied twice.
 * Only where the target folder has the source folder's name (no rename rule,
 * no special-use mapping) and the new name is free on the target.
 */
async function followRename(target: ImapFlow, pair: FolderPair, run: CopyRun, uidValidity: string): Promise<FolderState | undefined> {
  if (pair.targetExists || pair.target !== pair.source.path) return undefined;
  const [oldPath, state] =
    Object.entries(run.checkpoint.folders).find(([p, s]) => s.uidValidity === uidValidity && !run.sourcePaths.has(p)) ?? [];
  const oldTarget = run.targetFolders.folders.find((f) => f.path === oldPath);
  if (!oldPath || !state || !oldTarget) return undefined;
  await target.mailboxRename(oldTarget.nativePath, pair.targetNative);
  pair.targetExists = true;
  delete run.checkpoint.folders[oldPath];
  return state;
}

async function ensureTargetFolder(target: ImapFlow, pair: FolderPair): Promise<void> {
  if (pair.targetExists || pair.target === 'INBOX') return;
  await target.mailboxCreate(pair.targetNative);
  if (pair.source.subscribed) await target.mailboxSubscribe(pair.targetNative);
  pair.targetExists = true;
}

/** The folder's messages above lastUid, in UID order, each with what to do about it. */
async function planFolder(sessions: Sessions, pair: FolderPair, run: CopyRun, lastUid: number, firstVisit: boolean): Promise<WorkItem[]> {
  const { source, target } = sessions;
  const all = await fetchInventory(source);
  run.sourceCounts.set(pair.source.path, all.length);
  const now = Date.now();
  const kept: MessageMeta[] = [];
  const work = new Map<number, WorkItem>();
  for (const meta of all) {
    const reason = skipReason(meta, run.options, now);
    if (reason === undefined) kept.push(meta);
    if (reason === undefined && meta.uid <= lastUid && firstVisit) run.messagesExisting++;
    if (meta.uid > lastUid) work.set(meta.uid, { meta, action: reason === undefined ? 'existing' : 'skip', reason });
  }
  if (![...work.values()].some((w) => w.action === 'existing')) return [...work.values()];

  const targetBox = await target.mailboxOpen(pair.targetNative, { readOnly: true });
  const onTarget = await fetchInventory(target);
  run.targetSeen.set(pair.targetNative, Math.max(targetBox.uidNext, (onTarget.at(-1)?.uid ?? 0) + 1));
  run.targetOthers.set(pair.targetNative, []);
  const plan = planMatches(kept, onTarget, lastUid);
  if (plan.ambiguous.length > 0) {
    // One FETCH per side for all ambiguous groups, not a round trip per group.
    const hashes = {
      source: await hashBodies(source, plan.ambiguous.flatMap((g) => g.source.map((m) => m.uid))),
      target: await hashBodies(target, plan.ambiguous.flatMap((g) => g.target.map((m) => m.uid))),
    };
    for (const group of plan.ambiguous) for (const uid of settleByHash(group, hashes, lastUid)) plan.copy.add(uid);
  }
  const announced = target.capabilities.get('APPENDLIMIT');
  for (const uid of plan.copy) {
    const item = work.get(uid) as WorkItem;
    if (typeof announced === 'number' && item.meta.size > announced) {
      item.action = 'too-large';
      item.reason = `larger than the target's APPENDLIMIT of ${announced} bytes`;
    } else if (run.targetMaxBytes !== undefined && item.meta.size > run.targetMaxBytes) {
      // not sent at all: Exchange Online counts a refused APPEND as an error and drops the session after ten
      item.action = 'too-large';
      item.reason = `larger than the target mailbox's MaxReceiveSize of ${run.targetMaxBytes} bytes (${item.meta.size} bytes); raise it with Set-Mailbox -MaxReceiveSize (at most 150 MB) and resume the row`;
    } else {
      item.action = 'copy';
    }
  }
  return [...work.values()];
}

const isLarge = (item: WorkItem) => item.action === 'copy' && item.meta.size > SPILL_BYTES;
const bodyBytes = (item: Ready) => item.body?.length ?? item.spilled?.size ?? 0;

async function streamFolder(sessions: Sessions, pair: FolderPair, run: CopyRun, work: WorkItem[], state: { lastUid: number }): Promise<void> {
  const queue = new ByteBoundedQueue<Ready>(READ_AHEAD_BYTES);
  const spills = new SpillDir();
  // a body read from the source is progress too: the heartbeat moves while a large group is being written
  const reader = readAhead(sessions.source, work, queue, spills, () => run.progress(pair.source.path));
  let group: Ready[] = [];
  const flush = async () => {
    if (group.length === 0) return;
    await writeGroup(sessions, pair, run, group);
    state.lastUid = group[group.length - 1].meta.uid;
    group = [];
    run.progress(pair.source.path);
    run.saveCheckpoint();
  };
  try {
    let copies = 0;
    let bytes = 0;
    for (let item = await queue.shift(); item; item = await queue.shift()) {
      run.throwIfAborted();
      // a large message is appended alone, streamed from its file, after the group before it
      if (item.spilled) await flush();
      group.push(item);
      if (item.body || item.spilled) {
        copies++;
        bytes += bodyBytes(item);
      }
      if (item.spilled || copies >= GROUP_MESSAGES || bytes >= GROUP_BYTES || group.length >= GROUP_ITEMS) {
        try {
          await flush();
        } finally {
          if (item.spilled) await discard(item.spilled);
        }
        copies = 0;
        bytes = 0;
      }
    }
    await flush();
  } catch (err) {
    queue.fail(err); // stops the reader; the caller closes the sessions
    throw err;
  } finally {
    // once the reader has stopped too (closing the sessions ends its last command), its files go
    void reader.then(() => spills.remove()).catch(() => undefined);
  }
}

/**
 * A message the chunk's FETCH left out (a server may skip one it cannot read
 * just then): FETCHed again alone; if that brings nothing either, a SEARCH
 * tells a message expunged since the inventory from one the source keeps
 * but will not return. Either way it is counted, never passed over unseen.
 */
async function fetchMissed(source: ImapFlow, item: WorkItem): Promise<Ready> {
  const msg = await source.fetchOne(String(item.meta.uid), { uid: true, source: true, flags: true }, { uid: true });
  if (msg && msg.source) {
    const meta = msg.flags ? { ...item.meta, flags: storableFlags(msg.flags) } : item.meta;
    return { ...item, meta, body: msg.source, missed: true };
  }
  return { ...(await withoutBody(source, item)), missed: true };
}

/** A message whose body the source did not return: a SEARCH tells expunged from kept but unreadable. */
async function withoutBody(source: ImapFlow, item: WorkItem): Promise<Ready> {
  const still = await source.search({ uid: String(item.meta.uid) }, { uid: true });
  return still && still.includes(item.meta.uid) ? { ...item, unreadable: true } : { ...item, vanished: true };
}

/** A large message, FETCHed in chunks into a file rather than in one piece with its group. */
async function spillOne(source: ImapFlow, item: WorkItem, spills: SpillDir): Promise<Ready> {
  const spilled = await spills.spill(source, item.meta.uid);
  return spilled ? { ...item, spilled } : withoutBody(source, item);
}

/** The source side: FETCHes the bodies to copy, in chunks, and queues every work item in order. */
async function readAhead(source: ImapFlow, work: WorkItem[], queue: ByteBoundedQueue<Ready>, spills: SpillDir, onRead: () => void): Promise<void> {
  let iterator: AsyncGenerator<FetchMessageObject, unknown> | undefined;
  try {
    for (let start = 0; start < work.length; ) {
      if (isLarge(work[start])) {
        // counted in the queue at its size, so at most about two large messages wait on disk at once
        const ready = await spillOne(source, work[start], spills);
        await queue.push(ready, bodyBytes(ready));
        if (ready.spilled) onRead();
        start++;
        continue;
      }
      let end = start;
      const uids: number[] = [];
      let bytes = 0;
      for (; end < work.length; end++) {
        if (work[end].action !== 'copy') continue;
        if (isLarge(work[end])) break; // it gets a FETCH of its own
        if (uids.length >= FETCH_MESSAGES || (uids.length > 0 && bytes + work[end].meta.size > FETCH_BYTES)) break;
        uids.push(work[end].meta.uid);
        bytes += work[end].meta.size;
      }
      iterator = uids.length ? source.fetch(uids, { uid: true, source: true, flags: true }, { uid: true }) : undefined;
      let next = iterator ? await iterator.next() : undefined;
      // after a miss: the rest of this chunk's answer, read to its end so the session is free for the retry
      let late: Map<number, FetchMessageObject> | undefined;
      for (let i = start; i < end; i++) {
        const item = work[i];
        if (item.action !== 'copy') {
          await queue.push(item, 0);
          continue;
        }
        let msg: FetchMessageObject | undefined;
        if (late) msg = late.get(item.meta.uid);
        else {
          while (next && !next.done && (next.value as FetchMessageObject).uid < item.meta.uid) next = await iterator?.next();
          const candidate = next && !next.done ? (next.value as FetchMessageObject) : undefined;
          if (candidate && candidate.uid === item.meta.uid && candidate.source) {
            msg = candidate;
            next = await iterator?.next();
          } else {
            late = new Map();
            for (; next && !next.done; next = await iterator?.next()) late.set((next.value as FetchMessageObject).uid, next.value as FetchMessageObject);
            iterator = undefined;
            msg = late.get(item.meta.uid);
          }
        }
        const ready: Ready =
          msg && msg.source
            ? { ...item, meta: msg.flags ? { ...item.meta, flags: storableFlags(msg.flags) } : item.meta, body: msg.source }
            : await fetchMissed(source, item);
        await queue.push(ready, ready.body?.length ?? 0);
        if (ready.body) onRead();
      }
      while (next && !next.done) next = await iterator?.next();
      iterator = undefined;
      start = end;
    }
    queue.close();
  } catch (err) {
    queue.fail(err);
    void iterator?.return(undefined).catch(() => undefined);
  }
}

function badItem(pair: FolderPair, meta: MessageMeta, reason: string): BadItem {
  return {
    folder: pair.source.path,
    uid: meta.uid,
    date: meta.date ?? new Date(meta.internalDate).toISOString(),
    subject: meta.subject,
    size: meta.size,
    reason,
  };
}

function appendItem(item: Ready): AppendItem {
  return { body: item.body as Buffer, flags: item.meta.flags, internalDate: new Date(item.meta.internalDate) };
}

/**
 * The target side: one MULTIAPPEND for the group; if refused, one APPEND each to isolate the bad ones.
 * No mailbox is selected on the target while it appends, so before each command the session can be
 * swapped for one with a fresh token (run.renewTarget).
 */
async function writeGroup(sessions: Sessions, pair: FolderPair, run: CopyRun, group: Ready[]): Promise<void> {
  const toCopy = group.filter((g) => g.body || g.spilled);
  // one command for the group when the server takes MULTIAPPEND (atomic: a refusal appended nothing)
  if (toCopy.length > 1 && sessions.target.capabilities.has('MULTIAPPEND')) {
    try {
      await run.renewTarget(sessions);
      const appended = await appendGroup(sessions.target, pair.targetNative, toCopy.map(appendItem));
      return settleGroup(pair, run, group, await keepCopies(sessions, pair, run, toCopy, appended), []);
    } catch (err) {
      if (!(err instanceof AppendRejected)) throw err;
    }
  }
  const copied: Ready[] = [];
  const bad: BadItem[] = [];
  for (const [i, item] of group.entries()) {
    if (!item.body && !item.spilled) continue;
    try {
      await run.renewTarget(sessions);
      const appended = item.spilled
        ? await appendFile(sessions.target, pair.targetNative, { file: item.spilled, flags: item.meta.flags, internalDate: new Date(item.meta.internalDate) })
        : await appendOne(sessions.target, pair.targetNative, appendItem(item));
      copied.push(...(await keepCopies(sessions, pair, run, [item], appended)));
    } catch (oneErr) {
      if (oneErr instanceof AppendRejected) {
        bad.push(badItem(pair, item.meta, oneErr.message));
        continue;
      }
      // The session failed (throttled, dropped) part-way: what the group appended so far is on the target,
      // so it is counted and checkpointed now; the reconnect goes on from the message that failed.
      if (i > 0) {
        settleGroup(pair, run, group.slice(0, i), copied, bad);
        (run.checkpoint.folders[pair.source.path] as FolderState).lastUid = group[i - 1]!.meta.uid;
        run.saveCheckpoint();
      }
      throw oneErr;
    }
  }
  settleGroup(pair, run, group, copied, bad);
}

/**
 * Records what an APPEND placed and returns the items it copied: all of them, unless another writer raced it.
 * The copy of a mailbox can run twice at once: an attempt the heartbeat timeout gave up on is only frozen (a
 * network cut), and when its session thaws, its APPEND in flight lands, and maybe more, while the retry copies
 * the same messages. A checkpoint cannot prevent that; the target's UIDs, handed out in order, settle it
 * afterwards. Of two copies of a message, the writer of the later one has met the earlier one among the target
 * messages it did not write (those between the UIDs it had seen and those of its own APPENDs), and deletes its
 * own copy: both writers agree which copy stays, so the target ends with each message once and neither writer
 * deletes a copy the other keeps. Without UIDPLUS there is no telling.
 */
async function keepCopies(sessions: Sessions, pair: FolderPair, run: CopyRun, items: Ready[], appended: Appended | null): Promise<Ready[]> {
  if (!appended) return items;
  const state = run.checkpoint.folders[pair.source.path] as FolderState;
  const seen = run.targetSeen.get(pair.targetNative);
  const first = Math.min(...appended.uids);
  run.targetSeen.set(pair.targetNative, Math.max(seen ?? 0, ...appended.uids.map((uid) => uid + 1)));
  const others = run.targetOthers.get(pair.targetNative) ?? [];
  run.targetOthers.set(pair.targetNative, others);
  const between = seen !== undefined && first > seen ? `${seen}:${first - 1}` : undefined;
  const held = between || others.length > 0 ? await dropRacedCopies(sessions.target, pair, items, appended, others, between) : new Map<number, number>();
  recordCopies(state, items.map((item) => item.meta.uid), { ...appended, uids: appended.uids.map((uid) => held.get(uid) ?? uid) });
  if (held.size === 0) return items;
  run.racedCopies += held.size;
  return items.filter((item, i) => {
    if (!held.has(appended.uids[i]!)) return true;
    item.action = 'existing'; // counted as already there by settleGroup
    return false;
  });
}

/**
 * Adds the target's messages in `between` to `others` (what other writers put there during this pass), deletes
 * the appended copies that one of `others` already holds, and returns mine → theirs; each of `others` holds one.
 */
async function dropRacedCopies(
  target: ImapFlow,
  pair: FolderPair,
  items: Ready[],
  appended: Appended,
  others: MessageMeta[],
  between: string | undefined,
): Promise<Map<number, number>> {
  if (between) {
    await target.mailboxOpen(pair.targetNative, { readOnly: true });
    for await (const msg of target.fetch(between, { uid: true, flags: true, internalDate: true, size: true, envelope: true }, { uid: true })) others.push(metaOf(msg));
    await target.mailboxClose();
  }
  const mine = items.map((item, i) => ({ ...item.meta, uid: appended.uids[i]! }));
  const pairs = heldBy(mine, others);
  if (pairs.length === 0) return new Map();
  const claimed = new Set(pairs.map(([, theirs]) => theirs.uid));
  others.splice(0, others.length, ...others.filter((o) => !claimed.has(o.uid)));
  await target.mailboxOpen(pair.targetNative);
  try {
    await target.messageDelete(pairs.map(([m]) => m.uid).join(','), { uid: true });
  } finally {
    await target.mailboxClose();
  }
  return new Map(pairs.map(([m, theirs]) => [m.uid, theirs.uid] as const));
}

/** Counts what a group (or its written part) did: copied, already there, skipped, bad. */
function settleGroup(pair: FolderPair, run: CopyRun, items: Ready[], copied: Ready[], bad: BadItem[]): void {
  run.messagesCopied += copied.length;
  run.bytesCopied += copied.reduce((n, item) => n + bodyBytes(item), 0);
  for (const item of items) {
    if (item.missed) run.readAheadMisses++;
    if (item.action === 'existing') run.messagesExisting++;
    else if (item.action === 'skip') run.messagesSkipped++;
    else if (item.action === 'too-large') bad.push(badItem(pair, item.meta, item.reason ?? 'too large for the target'));
    // listed, so the checkpoint that moves past it never hides a message that is on neither side
    else if (item.unreadable) bad.push(badItem(pair, item.meta, 'the source did not return its body, neither with its group nor alone'));
    else if (item.vanished) run.messagesVanished++;
  }
  // Counted last: passing the limit throws, and what was appended above must already be counted.
  for (const item of bad) run.addBadItem(item);
}
