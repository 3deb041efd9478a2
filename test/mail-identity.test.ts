import fc from 'fast-check';
import { identityKey, planMatches, settleByHash, type MessageMeta } from '../connectors/mail/identity';

/** Message shapes by index; equal index means byte-identical bodies (hash `h<index>`). */
const contents: Array<Omit<MessageMeta, 'uid' | 'flags' | 'subject' | 'date'>> = [
  { messageId: '<a@x>', size: 100, internalDate: 1_700_000_000_000 },
  { messageId: '<a@x>', size: 100, internalDate: 1_700_000_000_000 }, // same key as 0, other bytes
  { messageId: null, size: 200, internalDate: 1_700_000_000_000 },
  { messageId: null, size: 200, internalDate: 1_700_000_000_000 }, // same key as 2, other bytes
  { messageId: '<b@x>', size: 300, internalDate: 1_700_000_001_000 },
];

function build(list: number[], firstUid: number): { metas: MessageMeta[]; hashes: Map<number, string> } {
  const metas = list.map((c, i) => ({ ...contents[c], uid: firstUid + i, flags: [], subject: null, date: null }));
  return { metas, hashes: new Map(metas.map((m, i) => [m.uid, `h${list[i]}`])) };
}

function toCopy(source: number[], target: number[], lastUid = 0): number[] {
  const s = build(source, 1);
  const t = build(target, 1);
  const plan = planMatches(s.metas, t.metas, lastUid);
  const copy = new Set(plan.copy);
  for (const g of plan.ambiguous) for (const uid of settleByHash(g, { source: s.hashes, target: t.hashes }, lastUid)) copy.add(uid);
  return [...copy].sort((a, b) => a - b).map((uid) => source[uid - 1]);
}

function multisetMinus(a: number[], b: number[]): number[] {
  const left = [...b];
  return a.filter((x) => {
    const i = left.indexOf(x);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

describe('message identity', () => {
  it('keys on Message-ID, size and INTERNALDATE to the second', () => {
    const m = { messageId: ' <a@x> ', size: 5, internalDate: 1_700_000_000_900 };
    expect(identityKey(m)).toBe(identityKey({ messageId: '<a@x>', size: 5, internalDate: 1_700_000_000_000 }));
    expect(identityKey(m)).not.toBe(identityKey({ ...m, size: 6 }));
  });

  it('copies everything to an empty target without hashing', () => {
    const plan = planMatches(build([0, 0, 2, 4], 1).metas, [], 0);
    expect([...plan.copy]).toEqual([1, 2, 3, 4]);
    expect(plan.ambiguous).toEqual([]);
  });

  it('copies nothing when the target already has the same multiset', () => {
    expect(toCopy([0, 0, 1, 2, 3, 3, 4], [3, 0, 4, 1, 2, 0, 3])).toEqual([]);
  });

  it('copies the missing one of byte-identical duplicates', () => {
    expect(toCopy([0, 0, 0], [0])).toEqual([0, 0]);
  });

  it('tells apart messages sharing a Message-ID or lacking one by content', () => {
    expect(toCopy([0, 1, 2, 3], [1, 2])).toEqual([0, 3]);
  });

  it('never re-copies what the checkpoint covers, but lets it claim its target copy', () => {
    // UIDs 1,2 are identical; the checkpoint says UID 1 is copied; the target holds one copy.
    expect(toCopy([0, 0], [0], 1)).toEqual([0]);
    // The checkpoint covers both; even a missing target copy is not re-sent.
    expect(toCopy([0, 0], [0], 2)).toEqual([]);
  });

  it('finds a rewritten copy (other size) by Message-ID and INTERNALDATE within the tolerance, once per copy', () => {
    const meta = (uid: number, messageId: string | null, size: number, internalDate: number, subject: string | null = null): MessageMeta => ({ uid, messageId, size, internalDate, flags: [], subject, date: null });
    const t0 = 1_700_000_000_000;
    const source = [
      meta(1, '<r@x>', 100, t0),
      meta(2, '<r@x>', 100, t0),
      meta(3, '<s@x>', 100, t0),
      meta(4, null, 100, t0, 'no id'),
      meta(5, '<u@x>', 100, t0),
      meta(6, null, 100, t0, 'no id either'),
    ];
    // the target rewrote 1, 3 and 4 (bigger), stamped 3 a minute later; 5's and 6's look-alikes are a day / a second off
    const target = [
      meta(10, '<r@x>', 180, t0),
      meta(11, '<s@x>', 170, t0 + 60_000),
      meta(12, null, 160, t0, 'no id'),
      meta(13, '<u@x>', 150, t0 + 86_400_000),
      meta(14, null, 160, t0 + 1_000, 'no id either'),
    ];
    const plan = planMatches(source, target, 0);
    expect(plan.ambiguous).toEqual([]);
    // one of the two <r@x> is on the target; <u@x> and the second message without an id are copied
    expect([...plan.copy].sort()).toEqual([2, 5, 6]);
  });

  it('copies exactly source minus target for any multisets (target a sub-multiset)', () => {
    const pick = fc.array(fc.integer({ min: 0, max: contents.length - 1 }), { maxLength: 12 });
    fc.assert(
      fc.property(pick, fc.array(fc.boolean(), { maxLength: 12 }), (source, keep) => {
        const target = source.filter((_, i) => keep[i]).reverse();
        expect(toCopy(source, target).sort()).toEqual(multisetMinus(source, target).sort());
      }),
    );
  });
});
