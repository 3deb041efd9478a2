/**
 * Bad input, generated: more than 10,000 CSV files (random bytes, huge fields,
 * embedded quotes and line breaks, BOMs and UTF-16, other delimiters, 1,000
 * against 1,001 rows, duplicate and mixed-case headers, formula injection).
 * Extends test/csv.property.test.ts with a model of its own: each file is
 * generated together with the verdict the seed's rules give it, so the
 * validator must accept exactly the good files and reject every bad one.
 */
import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { CsvStructureError, toCsv, validateCsv } from '../../shared/csv';
import { recordVerified } from './helpers/results';

const seed = Number(process.env.FAULT_SEED ?? Date.now() % 1e9);
const runs = { bytes: 3000, model: 4000, formula: 3000, boundary: 100 };
/** validateCsv's verdict on every fuzz file: 'accepted' or the refusal's code */
const verdicts = new Map<string, number>();
let roundTrips = 0;
const failures: Record<'files' | 'reports', string[]> = { files: [], reports: [] };

/** runs a test body, remembering a failure for the row the test belongs to */
function tracked(row: keyof typeof failures, name: string, body: () => void): () => void {
  return () => {
    try {
      body();
    } catch (err) {
      failures[row].push(`${name}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      throw err;
    }
  };
}

const count = (verdict: string) => verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);

function outcome(content: string | Buffer): CsvStructureError | ReturnType<typeof validateCsv> {
  try {
    const result = validateCsv(content, { acceptedDomains: ['contoso.com'] });
    count('accepted');
    return result;
  } catch (error) {
    if (error instanceof CsvStructureError) {
      count(error.code);
      return error;
    }
    count('threw another error');
    throw new Error(`validateCsv threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
}

const FORMULAS = ['=cmd|\' /C calc\'!A0', '=HYPERLINK("http://x.test","y")', '+1+1', '-2+3', '@SUM(A1:A9)', '\t=1', '\r=1', '=1+1'];
const trouble = fc.constantFrom(',', '"', '\n', '\r\n', ';', '\t', '|', ' ', 'é', '\uFEFF', '日本', '=', '+', '@', '-');
const value = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: fc.oneof(trouble, fc.constantFrom('a', 'B', '1', '.', '@')), minLength: 1, maxLength: 30 }) },
  { weight: 2, arbitrary: fc.constantFrom(...FORMULAS) },
  { weight: 2, arbitrary: fc.emailAddress() },
  { weight: 1, arbitrary: fc.integer({ min: 10_000, max: 200_000 }).map((n) => 'x'.repeat(n)) },
);

/** a cell as a careful writer would put it in a file separated by `sep` */
function cell(v: string, sep: string): string {
  return v.includes(sep) || /["\r\n]|^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

const KNOWN = ['emailaddress', 'password', 'forcechangepassword'];
const headerName = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...KNOWN), fc.array(fc.boolean(), { minLength: 20, maxLength: 20 })).map(([n, up]) => [...n].map((c, i) => (up[i] ? c.toUpperCase() : c)).join('')) },
  { weight: 1, arbitrary: fc.constantFrom('Department', 'E-mail', 'Email Address', '') },
);

interface Model {
  header: string[];
  rows: string[][];
  sep: string;
  encoding: 'utf8' | 'utf8-bom' | 'utf16le-bom';
  eol: string;
  /** rows whose cell count differs from the header's */
  ragged: boolean;
}

const model: fc.Arbitrary<Model> = fc
  .record({
    header: fc.array(headerName, { minLength: 1, maxLength: 4 }),
    count: fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 0, max: 8 }) }, { weight: 1, arbitrary: fc.constantFrom(999, 1000, 1001) }),
    cells: fc.array(value, { minLength: 40, maxLength: 40 }),
    sep: fc.constantFrom(',', ',', ',', ';', '\t', '|'),
    encoding: fc.constantFrom('utf8' as const, 'utf8-bom' as const, 'utf16le-bom' as const),
    eol: fc.constantFrom('\n', '\r\n', '\r'),
    ragged: fc.nat(30),
  })
  .map(({ header, count, cells, sep, encoding, eol, ragged }) => {
    // every row starts with a plain token so no row is blank (blank rows are skipped, by design)
    // huge fields in small files only: a 1,000-row file of 100 KB values would only measure memcpy
    const pick = (i: number) => (count > 100 ? cells[i]!.slice(0, 40) : cells[i]!);
    const rows = Array.from({ length: count }, (_, r) => header.map((_, c) => (c === 0 ? `u${r}@contoso.com` : pick((r * 7 + c) % cells.length))));
    const isRagged = ragged < 3 && rows.length > 0 && sep === ",";
    if (isRagged) rows[ragged % rows.length]!.push(ragged === 0 ? 'extra' : ',');
    return { header, rows, sep, encoding, eol, ragged: isRagged };
  })
  // "EmailAddress<TAB>" trims to a one-column header: a different file from the one the model describes
  .filter((m) => m.sep === ',' || m.header.length === 1 || (m.header[0] !== '' && m.header.at(-1) !== ''));

function render(m: Model): string | Buffer {
  const lines = [m.header.join(m.sep), ...m.rows.map((r) => r.map((v) => cell(v, m.sep)).join(m.sep))];
  const text = lines.join(m.eol) + m.eol;
  if (m.encoding === 'utf8') return text;
  if (m.encoding === 'utf8-bom') return `\uFEFF${text}`;
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

/** The seed's structural rules, written independently of shared/csv. */
function structurallyBad(m: Model): string | null {
  if (m.header.length > 1 && m.sep !== ',') return 'not comma separated';
  const names = m.header.map((h) => h.trim().toLowerCase());
  if (names.some((n) => !KNOWN.includes(n))) return 'unknown column';
  if (new Set(names).size !== names.length) return 'duplicate column';
  if (!names.includes('emailaddress')) return 'no EmailAddress';
  if (m.rows.length === 0) return 'no rows';
  if (m.rows.length > 1000) return 'more than 1,000 rows';
  // a one-column file written with another separator still has one column per row
  if (m.ragged) return 'a row with another column count';
  return null;
}

afterAll(async () => {
  const files = [...verdicts.values()].reduce((a, b) => a + b, 0);
  const byCode = [...verdicts.entries()].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ');
  const notes = [`fast-check seed ${seed}; runs ${JSON.stringify(runs)}`];
  await recordVerified({ fault: 'CSV fuzz (files)', injected: files, injectedHow: 'CSV files handed to validateCsv, counted at the call', figures: byCode, seed, notes: [...notes, ...failures.files] }, () => expect(failures.files).toEqual([]));
  await recordVerified(
    { fault: 'CSV report round-trips', injected: roundTrips, injectedHow: 'reports written by toCsv and parsed back, counted per report', figures: `${roundTrips} reports: formulas neutralised, values read back`, seed, notes: [...notes, ...failures.reports] },
    () => expect(failures.reports).toEqual([]),
  );
});

test('random bytes and text never make validateCsv throw anything but CsvStructureError', tracked('files', 'random bytes', () => {
  const anything = fc.oneof(
    fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
    fc.string({ unit: fc.oneof(trouble, fc.string({ minLength: 1, maxLength: 1 })), maxLength: 400 }),
    fc.string({ unit: 'binary', maxLength: 400 }),
    fc.tuple(fc.constantFrom('EmailAddress', 'EmailAddress,Password', 'emailADDRESS,PASSWORD,forceChangePassword'), fc.string({ unit: fc.oneof(trouble, fc.string({ minLength: 1, maxLength: 1 })), maxLength: 400 })).map(([h, rest]) => `${h}\n${rest}`),
  );
  fc.assert(
    fc.property(anything, (content) => {
      const result = outcome(content);
      if (result instanceof CsvStructureError) expect(typeof result.code).toBe('string');
    }),
    { numRuns: runs.bytes, seed },
  );
}));

test('the validator accepts exactly the structurally good files of the model', tracked('files', 'model', () => {
  fc.assert(
    fc.property(model, (m) => {
      const bad = structurallyBad(m);
      const result = outcome(render(m));
      if (bad) {
        if (!(result instanceof CsvStructureError)) throw new Error(`accepted a file with ${bad}`);
      } else {
        if (result instanceof CsvStructureError) throw new Error(`rejected a good file: ${result.code} ${result.message}`);
        expect(result.rows.length + result.rejected.length).toBe(m.rows.length);
      }
    }),
    { numRuns: runs.model, seed },
  );
}));

test('1,000 rows are a batch, 1,001 are refused, whatever the rows hold', tracked('files', '1,000/1,001 rows', () => {
  fc.assert(
    fc.property(fc.constantFrom(1000, 1001), fc.array(value, { minLength: 5, maxLength: 5 }), (count, vals) => {
      const rows = Array.from({ length: count }, (_, i) => `u${i}@contoso.com,${cell(vals[i % 5]!.slice(0, 50), ',')}`);
      const result = outcome(`EmailAddress,Password\r\n${rows.join('\r\n')}\r\n`);
      if (count === 1000) expect(result).not.toBeInstanceOf(CsvStructureError);
      else expect(result instanceof CsvStructureError && result.code).toBe('TOO_MANY_ROWS');
    }),
    { numRuns: runs.boundary, seed },
  );
}));

test('reports written with toCsv neutralise every formula, and keep the value readable', tracked('reports', 'report round-trip', () => {
  const formulaish = fc.oneof(
    fc.constantFrom(...FORMULAS),
    fc.tuple(fc.constantFrom('=', '+', '-', '@', '\t', '\r'), fc.string({ unit: fc.oneof(trouble, fc.string({ minLength: 1, maxLength: 1 })), maxLength: 40 })).map(([a, b]) => a + b),
    value.map((v) => v.slice(0, 200)),
  );
  fc.assert(
    fc.property(fc.array(fc.record({ EmailAddress: formulaish, Error: formulaish, Count: fc.integer() }), { minLength: 1, maxLength: 5 }), (rows) => {
      roundTrips++;
      const written = toCsv(rows, ['EmailAddress', 'Error', 'Count']);
      const read = parse(written, { bom: true, columns: true, relax_quotes: false }) as Record<string, string>[];
      expect(read).toHaveLength(rows.length);
      read.forEach((r, i) => {
        for (const key of ['EmailAddress', 'Error'] as const) {
          expect(r[key]).not.toMatch(/^[=+\-@\t\r]/);
          // csvSafe only adds quote marks: at the start, and where `;` or a tab would split a cell off
          expect(r[key]!.replace(/'/g, '')).toBe(rows[i]![key].replace(/'/g, ''));
        }
      });
    }),
    { numRuns: runs.formula, seed },
  );
}));
