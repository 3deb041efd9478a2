import { errorCodes } from '../errors';

/** Problems that reject the whole file: nothing in it is migrated. */
export const csvStructureFixes = {
  EMPTY: 'Add a header line (EmailAddress,Password,ForceChangePassword) and one row per mailbox.',
  NOT_COMMA_SEPARATED: 'Save the file as "CSV UTF-8 (comma delimited)" so that commas separate the columns.',
  TOO_MANY_ROWS: 'Split the file into batches of at most 1,000 rows and start one batch per file.',
  UNKNOWN_HEADER: 'Use only the columns EmailAddress, Password and ForceChangePassword in the header line.',
  DUPLICATE_HEADER: 'Keep each column once in the header line.',
  MISSING_EMAILADDRESS: 'Add an EmailAddress column: the header line must name it.',
  COLUMN_COUNT: 'Give every row as many values as the header has columns; put double quotes around values that contain commas.',
  UNPARSEABLE: 'Put double quotes around values that contain commas, quotes or line breaks, and double any quote inside them ("").',
} as const;

export type CsvStructureCode = keyof typeof csvStructureFixes;

export class CsvStructureError extends Error {
  readonly code: CsvStructureCode;
  readonly fix: string;
  /** the physical file line (header = 1) the problem was found on, when there is one */
  readonly line?: number;
  constructor(code: CsvStructureCode, problem: string, line?: number) {
    const fix = csvStructureFixes[code];
    super(`${problem} ${fix}`);
    this.name = 'CsvStructureError';
    this.code = code;
    this.fix = fix;
    this.line = line;
  }
}

/** Problems that skip one row; the other rows of the batch still run. */
export const csvRowFixes = {
  BAD_ADDRESS: 'Write the primary SMTP address of the on-premises mailbox, like ann@contoso.com.',
  DUPLICATE_ADDRESS: 'Keep one row per mailbox: remove the later rows for this address.',
  BAD_FORCE_CHANGE: 'Set ForceChangePassword to True or False, or leave it empty (False).',
  DOMAIN_NOT_ACCEPTED: errorCodes.DOMAIN_NOT_ACCEPTED,
  DOMAIN_NOT_VERIFIED: errorCodes.DOMAIN_NOT_VERIFIED,
  FEDERATED_FORCE_CHANGE: errorCodes.FEDERATED_FORCE_CHANGE,
} as const;

export type CsvRowErrorCode = keyof typeof csvRowFixes;
