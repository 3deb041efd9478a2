import { compareFolder, stripHeaderLines } from '../lab/verify';

const fp = (hash: string, flags = '', date = 1, subject = hash) => ({ folder: 'INBOX', subject, hash, flags, date });

describe('verifier comparison', () => {
  it('is clean for equal multisets, in any order', () => {
    expect(compareFolder('INBOX', [fp('a'), fp('a'), fp('b')], [fp('b'), fp('a'), fp('a')])).toEqual([]);
  });

  it('counts duplicates: one copy of two is one missing', () => {
    expect(compareFolder('INBOX', [fp('a'), fp('a')], [fp('a')]).map((f) => f.kind)).toEqual(['missing']);
  });

  it('reports differing flags and dates, and extras', () => {
    const findings = compareFolder('INBOX', [fp('a', '\\Seen', 1), fp('b', '', 1)], [fp('a', '', 1), fp('b', '', 2), fp('c')]);
    expect(findings.map((f) => [f.kind, f.subject])).toEqual([
      ['different', 'a'],
      ['different', 'b'],
      ['extra', 'c'],
    ]);
    expect(findings[0].reason).toMatch(/flags \[\\Seen\] on the source, \[\] on the target/);
    expect(findings[1].reason).toMatch(/internal date/);
  });

  it('strips header fields with their folded lines, leaving the body alone', () => {
    const raw = Buffer.from('Subject: x\r\nX-TUID: abc\r\n  cont\r\nFrom: y\r\n\r\nX-TUID: body stays\r\n');
    expect(stripHeaderLines(raw, ['x-tuid:']).toString()).toBe('Subject: x\r\nFrom: y\r\n\r\nX-TUID: body stays\r\n');
    expect(stripHeaderLines(raw, [])).toBe(raw);
    // mbsync appends its line last, right before the blank line
    const last = Buffer.from('Subject: x\r\nX-TUID: abc\r\n\r\nbody\r\n');
    expect(stripHeaderLines(last, ['X-TUID:']).toString()).toBe('Subject: x\r\n\r\nbody\r\n');
    expect(stripHeaderLines(Buffer.from('A: 1\nX-TUID: z\n\nb\n'), ['X-TUID:']).toString()).toBe('A: 1\n\nb\n');
  });
});
