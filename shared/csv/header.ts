import { CsvStructureError } from './errors';
import type { CsvRecord } from './parse';

export const csvColumns = ['EmailAddress', 'Password', 'ForceChangePassword'] as const;
export type CsvColumn = (typeof csvColumns)[number];

/** Where each known column sits in a row; Password and ForceChangePassword are optional. */
export type ColumnIndex = { EmailAddress: number } & Partial<Record<Exclude<CsvColumn, 'EmailAddress'>, number>>;

const otherSeparators: [string, string][] = [
  [';', 'semicolons'],
  ['\t', 'tabs'],
  ['|', 'vertical bars'],
];

/** Maps the header's names (any case, any order) to columns, or rejects the file. */
export function readHeader(header: CsvRecord): ColumnIndex {
  const cells = header.cells;
  // A file without a header starts with a data row; naming its cells could print a password.
  if (cells.some((cell) => cell.includes('@') || /^(true|false)$/i.test(cell))) {
    throw new CsvStructureError('UNKNOWN_HEADER', `Line ${header.line} looks like a data row (an address or True/False), so the header line is missing.`, header.line);
  }
  for (const [separator, name] of otherSeparators) {
    if (cells.some((cell) => cell.includes(separator))) {
      throw new CsvStructureError('NOT_COMMA_SEPARATED', `The header line uses ${name}, not commas, between columns.`, header.line);
    }
  }
  const index: Partial<Record<CsvColumn, number>> = {};
  cells.forEach((cell, position) => {
    const column = csvColumns.find((known) => known.toLowerCase() === cell.toLowerCase());
    if (!column) {
      // a name made of letters and spaces is shown; anything else could be a password of a file without its header line
      const shown =
        cell === '' ? 'an empty name' : /^[\p{L} _-]{1,40}$/u.test(cell) ? JSON.stringify(cell) : `a name of ${[...cell].length} characters (not shown)`;
      throw new CsvStructureError('UNKNOWN_HEADER', `The header names an unknown column: ${shown} (column ${position + 1}).`, header.line);
    }
    if (index[column] !== undefined) {
      throw new CsvStructureError('DUPLICATE_HEADER', `The header names ${column} twice (columns ${index[column]! + 1} and ${position + 1}).`, header.line);
    }
    index[column] = position;
  });
  if (index.EmailAddress === undefined) {
    throw new CsvStructureError('MISSING_EMAILADDRESS', 'The header has no EmailAddress column.', header.line);
  }
  return { ...index, EmailAddress: index.EmailAddress };
}
