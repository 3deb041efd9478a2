import { CsvStructureError } from './errors';
import { readHeader } from './header';
import { decodeCsv, readRecords } from './parse';
import { checkRows, csvContextSchema, type CsvContext, type CsvResult } from './rows';

/** A batch is one CSV; the seed caps it at 1,000 mailboxes. */
export const maxCsvRows = 1000;

/**
 * Validates a migration batch CSV.
 * Throws CsvStructureError when the file as a whole is unusable (nothing runs);
 * otherwise returns the valid rows and the rows skipped with a reason.
 */
export function validateCsv(content: string | Buffer, context: CsvContext = {}): CsvResult {
  const checkedContext = csvContextSchema.parse(context);
  const [header, ...data] = readRecords(decodeCsv(content));
  const columns = readHeader(header!);
  if (data.length === 0) throw new CsvStructureError('EMPTY', 'The file has a header line but no rows.');
  if (data.length > maxCsvRows) {
    throw new CsvStructureError('TOO_MANY_ROWS', `The file has ${data.length.toLocaleString('en-US')} rows; a batch holds at most ${maxCsvRows.toLocaleString('en-US')}.`);
  }
  const width = header!.cells.length;
  const uneven = data.find((record) => record.cells.length !== width);
  if (uneven) {
    throw new CsvStructureError('COLUMN_COUNT', `Line ${uneven.line} has ${uneven.cells.length} values but the header has ${width} columns.`, uneven.line);
  }
  return checkRows(data, columns, checkedContext);
}
