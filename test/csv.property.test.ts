import fc from 'fast-check';
import { stringify } from 'csv-stringify/sync';
import { CsvStructureError, csvColumns, csvSafe, validateCsv, type CsvStructureCode } from '../shared/csv';

const numRuns = 2000;

/** Whatever the input, validateCsv either returns or throws CsvStructureError. */
function outcome(content: string | Buffer): CsvStructureError | ReturnType<typeof validateCsv> {
  try {
    return validateCsv(content, { acceptedDomains: ['contoso.com'], federatedDomains: ['contoso.com'] });
  } catch (error) {
    if (error instanceof CsvStructureError) return error;
    throw error;
  }
}

// Characters that matter to CSV, weighted towards trouble.
const csvChar = fc.constantFrom(',', ',', '"', '"', '\n', '\r', ';', '\t', ' ', '@', '.', 'a', 'E', '=', '\uFEFF', 'é');
const csvText = fc.oneof(
  fc.string({ unit: csvChar, maxLength: 200 }),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
);

test('random input never throws anything but CsvStructureError, and accepted rows are sane', () => {
  fc.assert(
    fc.property(csvText, (content) => {
      const result = outcome(content);
      if (result instanceof CsvStructureError) {
        expect(result.message).toContain(result.fix);
        return;
      }
      const lines = [...result.rows, ...result.rejected].map((r) => r.line);
      expect(new Set(lines).size).toBe(lines.length);
      for (const line of lines) expect(line).toBeGreaterThanOrEqual(2);
      for (const row of result.rows) expect(row.address).toBe(row.address.toLowerCase());
    }),
    { numRuns },
  );
});

/** A well-formed file: a header of known columns (any case, any order) and rows written by csv-stringify. */
const wellFormed = fc
  .record({
    others: fc.shuffledSubarray(['Password', 'ForceChangePassword']),
    addressAt: fc.nat(2),
    upper: fc.boolean(),
    rows: fc.array(
      fc.record({
        address: fc.oneof(fc.emailAddress(), fc.string({ unit: csvChar, minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== '' && !/^[\s,]*$/.test(s))),
        password: fc.string({ unit: fc.oneof(csvChar, fc.constantFrom('x', 'Y', '1', '!')), maxLength: 12 }),
        force: fc.constantFrom('True', 'false', '', 'maybe'),
      }),
      { minLength: 1, maxLength: 12 },
    ),
    crlf: fc.boolean(),
    bom: fc.boolean(),
  })
  .map(({ others, addressAt, upper, rows, crlf, bom }) => {
    const columns = [...others];
    columns.splice(Math.min(addressAt, others.length), 0, 'EmailAddress');
    const cellsOf = (row: { address: string; password: string; force: string }) =>
      columns.map((c) => (c === 'EmailAddress' ? row.address : c === 'Password' ? row.password : row.force));
    const eol = crlf ? '\r\n' : '\n';
    const header = columns.map((c) => (upper ? c.toUpperCase() : c)).join(',');
    const rowTexts = rows.map((row) => stringify([cellsOf(row)], { quoted_match: /[\r\n]|^\s|\s$/, record_delimiter: eol }).slice(0, -eol.length));
    return { columns, header, rowTexts, eol, bom: bom ? '\uFEFF' : '' };
  });

type WellFormed = { columns: string[]; header: string; rowTexts: string[]; eol: string; bom: string };
const join = (f: WellFormed, header = f.header, rowTexts = f.rowTexts) => `${f.bom}${[header, ...rowTexts].join(f.eol)}${f.eol}`;
/** Physical line of row i: line breaks inside quoted values count, as they do in an editor. */
const lineOfRow = (f: WellFormed, i: number) => 2 + [f.header, ...f.rowTexts.slice(0, i)].join('\n').slice(f.header.length).split(/\r\n?|\n/).length - 1;

test('a well-formed file is never rejected as a whole, and every row is accounted for', () => {
  fc.assert(
    fc.property(wellFormed, (f) => {
      const result = outcome(join(f));
      if (result instanceof CsvStructureError) throw new Error(`rejected ${result.code}: ${result.message}`);
      expect(result.rows.length + result.rejected.length).toBe(f.rowTexts.length);
      expect([...result.rows, ...result.rejected].map((r) => r.line).sort((a, b) => a - b)).toEqual(f.rowTexts.map((_, i) => lineOfRow(f, i)));
    }),
    { numRuns },
  );
});

type Corruption = { code: CsvStructureCode; content: string; line?: number };

const corrupted = fc
  .tuple(wellFormed, fc.nat(), fc.constantFrom('columns', 'unknown', 'duplicate', 'missing', 'semicolons', 'quote', 'tooMany'))
  .map(([f, pick, kind]): Corruption | undefined => {
    const i = pick % f.rowTexts.length;
    const cells = f.header.split(',');
    switch (kind) {
      case 'columns': {
        const rows = [...f.rowTexts];
        rows[i] = `${rows[i]},extra`;
        return { code: 'COLUMN_COUNT', content: join(f, f.header, rows), line: lineOfRow(f, i) };
      }
      case 'unknown':
        return { code: 'UNKNOWN_HEADER', content: join(f, `${f.header},Department`, f.rowTexts.map((r) => `${r},x`)), line: 1 };
      case 'duplicate': {
        const again = cells[pick % cells.length]!.toLowerCase();
        return { code: 'DUPLICATE_HEADER', content: join(f, `${f.header},${again}`, f.rowTexts.map((r) => `${r},x`)), line: 1 };
      }
      case 'missing': {
        if (cells.length < 2) return undefined;
        const header = cells.map((c) => (c.toLowerCase() === 'emailaddress' ? 'ForceChangePassword' : c.toLowerCase() === 'forcechangepassword' ? 'EmailAddress' : c));
        const withoutAddress = header.filter((c) => c !== 'EmailAddress');
        if (new Set(withoutAddress.map((c) => c.toLowerCase())).size !== withoutAddress.length) return undefined;
        return { code: 'MISSING_EMAILADDRESS', content: join(f, withoutAddress.join(','), f.rowTexts.map(() => withoutAddress.map(() => 'x').join(','))), line: 1 };
      }
      case 'semicolons':
        if (cells.length < 2) return undefined;
        return { code: 'NOT_COMMA_SEPARATED', content: join(f, cells.join(';')), line: 1 };
      case 'quote': {
        const rows = [...f.rowTexts];
        rows[i] = `"${rows[i]}`;
        return { code: 'UNPARSEABLE', content: join(f, f.header, rows) };
      }
      default: {
        const pad = Array.from({ length: 1001 - f.rowTexts.length }, (_, n) => cells.map(() => `pad${n}@contoso.com`).join(','));
        return { code: 'TOO_MANY_ROWS', content: join(f, f.header, [...f.rowTexts, ...pad]) };
      }
    }
  })
  .filter((c): c is Corruption => c !== undefined);

test('a structurally bad file is always rejected as a whole, with the right code and line', () => {
  fc.assert(
    fc.property(corrupted, ({ code, content, line }) => {
      const result = outcome(content);
      if (!(result instanceof CsvStructureError)) throw new Error(`accepted a file that should be ${code}`);
      expect(result.code).toBe(code);
      if (line !== undefined) expect(result.line).toBe(line);
    }),
    { numRuns },
  );
});

test('no message ever holds a password', () => {
  const marker = fc.stringMatching(/^[A-Za-z0-9]{6}$/).map((s) => `PW${s}!`);
  fc.assert(
    fc.property(wellFormed, marker, fc.constantFrom('', ',extra', '"'), (f, password, damage) => {
      if (!f.columns.includes('Password')) return;
      const at = f.columns.indexOf('Password');
      const rows = f.rowTexts.map((_, i) => {
        const cells = f.columns.map((c) => (c === 'Password' ? password : c === 'EmailAddress' ? `u${i}@contoso.com` : 'maybe'));
        cells[at] = password;
        return i === 0 ? `${damage === '"' ? '"' : ''}${cells.join(',')}${damage === ',extra' ? damage : ''}` : cells.join(',');
      });
      const result = outcome(join(f, f.header, rows));
      const messages = result instanceof CsvStructureError ? [result.message] : result.rejected.map((r) => r.message);
      for (const message of messages) expect(message).not.toContain(password);
    }),
    { numRuns },
  );
});

test('csvSafe output never starts a cell with a formula, also where ; or a tab splits cells, and only adds quote marks', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', ';', ',', '"', "'", 'a', ' ') })), (value) => {
      const safe = csvSafe(value);
      expect(safe).not.toMatch(/^[=+\-@\t\r]/);
      for (const piece of safe.split(/(?<=[,;\t\r\n])/)) expect(piece).not.toMatch(/^[\s"]*[=+\-@]/);
      expect(safe.replace(/'/g, '')).toBe(value.replace(/'/g, ''));
    }),
    { numRuns },
  );
});

test('the header accepts exactly the documented columns', () => {
  expect(csvColumns).toEqual(['EmailAddress', 'Password', 'ForceChangePassword']);
});
