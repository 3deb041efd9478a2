import { stringify } from 'csv-stringify/sync';

// Spreadsheets run a cell starting with one of these as a formula (CSV injection), also after
// spaces or a stray double quote a reader drops, and in their full-width forms (East Asian Excel
// reads those as formulas too).
const formulaStart = /^[\s"]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]/;
// Where `;` or a tab is the list separator, a reader splits a value at them, and each piece is a
// cell of its own: every piece must be inert, not only the start of the value.
const pieces = /(?<=[,;\t\r\n])/;

/** Makes a value inert in Excel/LibreOffice by prefixing a quote to every piece that could start a formula. */
export function csvSafe(value: string): string {
  const safe = value
    .split(pieces)
    .map((piece) => (formulaStart.test(piece) ? `'${piece}` : piece))
    .join('');
  // a value starting with a tab or a carriage return is read as a formula by some readers that strip them
  return /^[\t\r]/.test(safe) ? `'${safe}` : safe;
}

export type CsvReportColumn<T> = (keyof T & string) | { key: keyof T & string; header: string };

/**
 * Report CSV: header line, CRLF line ends and a UTF-8 BOM (so Excel shows
 * non-ASCII names right), every string made safe with csvSafe, booleans as True/False.
 */
export function toCsv<T extends object>(rows: readonly T[], columns: readonly CsvReportColumn<T>[]): string {
  return stringify([...rows], {
    bom: true,
    header: true,
    record_delimiter: 'windows',
    columns: columns.map((column) => (typeof column === 'string' ? { key: column } : column)),
    cast: {
      string: csvSafe,
      boolean: (value) => (value ? 'True' : 'False'),
      date: (value) => value.toISOString(),
    },
  });
}
