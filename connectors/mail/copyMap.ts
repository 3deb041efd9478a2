/**
 * Which target message each copied source message became, from the target's
 * own answer to APPEND (UIDPLUS APPENDUID), kept in the checkpoint as runs
 * `[source UID, target UID, length]`: consecutive appends give consecutive
 * UIDs on both sides, so a folder of any size is a handful of runs. It tells
 * a delta pass which target messages the copy placed, so a message deleted on
 * the source can be found on the target without comparing anything.
 */
export type CopyRuns = Array<[number, number, number]>;

/** Adds (source UID, target UID) pairs, in source UID order, to `runs`. */
export function addCopies(runs: CopyRuns, pairs: ReadonlyArray<readonly [number, number]>): CopyRuns {
  for (const [source, target] of pairs) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[2] === source && last[1] + last[2] === target) last[2] += 1;
    else runs.push([source, target, 1]);
  }
  return runs;
}

/** Every (source UID, target UID) pair of `runs`. */
export function* copies(runs: CopyRuns): Generator<[number, number]> {
  for (const [source, target, length] of runs) for (let i = 0; i < length; i++) yield [source + i, target + i];
}

/** `runs` without the pairs whose source UID is in `gone`. */
export function withoutSources(runs: CopyRuns, gone: ReadonlySet<number>): CopyRuns {
  return addCopies([], [...copies(runs)].filter(([source]) => !gone.has(source)));
}

/** The UIDs of an APPENDUID uid-set (`5:7,9`), in the order the messages were appended. */
export function uidSet(text: string): number[] {
  const uids: number[] = [];
  for (const part of text.split(',')) {
    const [from, to] = part.split(':').map(Number);
    if (!Number.isSafeInteger(from) || (to !== undefined && !Number.isSafeInteger(to))) return [];
    const end = to ?? from!;
    for (let uid = Math.min(from!, end); uid <= Math.max(from!, end); uid++) uids.push(uid);
  }
  return uids;
}
