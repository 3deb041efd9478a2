import { globToRegExp, matchesAny } from '../connectors/mail/glob';
import { planFolders, renamePath, toNative, type FolderListing } from '../connectors/mail/folders';
import { skipReason } from '../connectors/mail/filters';

const entry = (path: string, specialUse?: string) => ({ path, nativePath: path, specialUse, subscribed: true });

describe('folder patterns', () => {
  it('keeps * inside one level and lets ** cross levels', () => {
    expect(globToRegExp('Archive/*').test('Archive/2020')).toBe(true);
    expect(globToRegExp('Archive/*').test('Archive/2020/Q1')).toBe(false);
    expect(globToRegExp('Archive/**').test('Archive/2020/Q1')).toBe(true);
    expect(globToRegExp('Arch?ve').test('Archive')).toBe(true);
    expect(globToRegExp('a.b').test('aXb')).toBe(false);
  });

  it('matches INBOX case-insensitively only', () => {
    expect(matchesAny('INBOX/Sub', ['inbox/*'])).toBe(true);
    expect(matchesAny('archive', ['Archive'])).toBe(false);
  });
});

describe('folder plan', () => {
  const source: FolderListing = {
    delimiter: '/',
    folders: [entry('INBOX'), entry('Sent Items', '\\Sent'), entry('Gesendet', '\\Sent'), entry('Archive/2020'), entry('Junk', '\\Junk'), entry('Ünïcødé/Ordner')],
  };
  const target: FolderListing = { delimiter: '.', folders: [entry('INBOX'), entry('Sent', '\\Sent')] };

  it('maps special-use folders to the target counterpart, else keeps the name, in the target delimiter', () => {
    const plan = planFolders(source, target);
    expect(plan.map((p) => [p.source.path, p.target, p.targetNative, p.targetExists])).toEqual([
      ['INBOX', 'INBOX', 'INBOX', true],
      ['Sent Items', 'Sent', 'Sent', true],
      ['Gesendet', 'Sent', 'Sent', true],
      ['Archive/2020', 'Archive/2020', 'Archive.2020', false],
      ['Junk', 'Junk', 'Junk', false],
      ['Ünïcødé/Ordner', 'Ünïcødé/Ordner', 'Ünïcødé.Ordner', false],
    ]);
  });

  it('moves only folders whose special use the source server declares', () => {
    const guessed = { ...entry('Sent', '\\Sent'), specialUseGuessed: true };
    const plan = planFolders({ delimiter: '/', folders: [guessed] }, { delimiter: '/', folders: [entry('Sent Items', '\\Sent')] });
    expect(plan.map((p) => p.target)).toEqual(['Sent']);
    const targetGuess = { delimiter: '/', folders: [{ ...entry('Sent', '\\Sent'), specialUseGuessed: true }, entry('Sent Items', '\\Sent')] };
    expect(planFolders({ delimiter: '/', folders: [entry('Gesendet', '\\Sent')] }, targetGuess).map((p) => p.target)).toEqual(['Sent Items']);
  });

  it('applies include, exclude and rename rules; a rename wins over special use', () => {
    const plan = planFolders(source, target, {
      includeFolders: ['**'],
      excludeFolders: ['Junk', 'Ünï*/**'],
      renameFolders: { Archive: 'Old/Archive', 'Sent Items': 'Sent from Exchange' },
    });
    expect(plan.map((p) => `${p.source.path}→${p.target}`)).toEqual([
      'INBOX→INBOX',
      'Sent Items→Sent from Exchange',
      'Gesendet→Sent',
      'Archive/2020→Old/Archive/2020',
    ]);
  });

  it('renames a subtree by its longest matching rule', () => {
    expect(renamePath('A/B/C', { A: 'X', 'A/B': 'Y' })).toBe('Y/C');
    expect(renamePath('AB', { A: 'X' })).toBeUndefined();
    expect(toNative('a/b', '.')).toBe('a.b');
  });
});

describe('message rules', () => {
  const now = Date.parse('2026-01-31T00:00:00Z');
  const m = { uid: 1, size: 1000, internalDate: Date.parse('2026-01-01T00:00:00Z'), messageId: null, flags: [], subject: null, date: null };
  it('skips by age and by size', () => {
    expect(skipReason(m, {}, now)).toBeUndefined();
    expect(skipReason(m, { maxAgeDays: 29 }, now)).toMatch(/older than 29 days/);
    expect(skipReason(m, { maxAgeDays: 31 }, now)).toBeUndefined();
    expect(skipReason(m, { maxMessageBytes: 999 }, now)).toMatch(/larger/);
    expect(skipReason(m, { maxMessageBytes: 1000 }, now)).toBeUndefined();
  });
});
