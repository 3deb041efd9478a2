/** The checkpoint's map of what was copied: runs of consecutive UIDs, and the APPENDUID uid-set it is read from. */
import { addCopies, copies, uidSet, withoutSources } from '../connectors/mail/copyMap';

describe('copy map', () => {
  it('keeps consecutive appends as one run and starts a new run at a gap on either side', () => {
    const runs = addCopies([], [
      [1, 10],
      [2, 11],
      [3, 12],
      [5, 13],
      [6, 20],
    ]);
    expect(runs).toEqual([
      [1, 10, 3],
      [5, 13, 1],
      [6, 20, 1],
    ]);
    expect([...copies(runs)]).toEqual([
      [1, 10],
      [2, 11],
      [3, 12],
      [5, 13],
      [6, 20],
    ]);
  });

  it('drops the pairs of deleted source messages', () => {
    expect(withoutSources([[1, 10, 5]], new Set([3]))).toEqual([
      [1, 10, 2],
      [4, 13, 2],
    ]);
  });

  it('reads a uid-set in append order and rejects garbage', () => {
    expect(uidSet('5:7,9')).toEqual([5, 6, 7, 9]);
    expect(uidSet('12')).toEqual([12]);
    expect(uidSet('x:3')).toEqual([]);
  });
});
