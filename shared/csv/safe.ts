import { stringify } from 'csv-stringify/sync';

// Spreadsheets run a cell starting with one of these as a formula (CSV injection).
const formulaStart = /^[=+\-@\t\r]/;

/** Makes a value inert in Excel/LibreOffice by prefixing a quote when it could start a formula. */
export function csvSafe(value: string): string {
  return formulaStart.test(value) ? `'${value}` : value;
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
