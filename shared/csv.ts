/** The migration batch CSV: validation of uploaded files and safe writing of reports. */
export { validateCsv, maxCsvRows } from './csv/validate';
export { CsvStructureError, csvStructureFixes, csvRowFixes, type CsvStructureCode, type CsvRowErrorCode } from './csv/errors';
export { csvColumns, type CsvColumn } from './csv/header';
export type { CsvRow, CsvRejectedRow, CsvResult, CsvContext } from './csv/rows';
export { csvSafe, toCsv, type CsvReportColumn } from './csv/safe';
export { writeReportFile, writeReportFileSync } from './csv/write';
export { hiddenCell } from './csv/rows';
