import { CsvError, parse } from 'csv-parse/sync';
import { CsvStructureError } from './errors';

/** One CSV record and the physical file line it starts on (header = line 1). */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/** Text of an uploaded file. Excel's "Unicode Text" is UTF-16 with a BOM; everything else is read as UTF-8. */
export function decodeCsv(content: string | Buffer): string {
  let text: string;
  if (typeof content === 'string') text = content;
  else if (content[0] === 0xff && content[1] === 0xfe) text = new TextDecoder('utf-16le').decode(content.subarray(2));
  else if (content[0] === 0xfe && content[1] === 0xff) text = new TextDecoder('utf-16be').decode(content.subarray(2));
  else text = content.toString('utf8');
  // One line-ending style: csv-parse miscounts lines when \r\n and trimming meet.
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

const newlines = (cells: string[]): number => cells.reduce((n, cell) => n + cell.split('\n').length - 1, 0);

/**
 * Parses the whole file into records, dropping blank lines and rows whose
 * values are all empty (what spreadsheets write for cleared rows).
 * Throws CsvStructureError EMPTY or UNPARSEABLE.
 */
export function readRecords(text: string): CsvRecord[] {
  if (text.trim() === '') throw new CsvStructureError('EMPTY', 'The file is empty.');
  const records: CsvRecord[] = [];
  let lastEndLine = 0;
  try {
    parse(text, {
      trim: true,
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: (cells: string[], context) => {
        // context.lines is the line a record ends on; quoted values may span lines.
        lastEndLine = context.lines;
        if (cells.some((cell) => cell !== '')) records.push({ line: context.lines - newlines(cells), cells });
        return null;
      },
    });
  } catch (error) {
    if (error instanceof CsvError) throw unparseable(error, text, lastEndLine);
    throw error;
  }
  if (records.length === 0) throw new CsvStructureError('EMPTY', 'The file holds no values, only empty lines or separators.');
  return records;
}

/** Never reuses csv-parse's message: it can quote a value, and that value may be a password. */
function unparseable(error: CsvError, text: string, lastEndLine: number): CsvStructureError {
  const reported = typeof error.lines === 'number' ? error.lines : lastEndLine + 1;
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED': {
      // csv-parse reports the end of the file; the admin needs the line where the quote opened.
      const line = firstNonBlankLineAfter(text, lastEndLine);
      return new CsvStructureError('UNPARSEABLE', `Line ${line}: a value opens a double quote that is never closed.`, line);
    }
    case 'INVALID_OPENING_QUOTE':
      return new CsvStructureError('UNPARSEABLE', `Line ${reported}: a double quote appears inside a value that does not start with one.`, reported);
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return new CsvStructureError('UNPARSEABLE', `Line ${reported}: a quoted value is followed by text before the next comma.`, reported);
    default:
      return new CsvStructureError('UNPARSEABLE', `Line ${reported}: the line cannot be read as CSV (${error.code}).`, reported);
  }
}

function firstNonBlankLineAfter(text: string, line: number): number {
  const lines = text.split('\n');
  for (let i = line; i < lines.length; i++) if (lines[i]!.trim() !== '') return i + 1;
  return line + 1;
}
