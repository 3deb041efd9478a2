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
