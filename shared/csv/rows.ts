import { z } from 'zod';
import { csvRowFixes, type CsvRowErrorCode } from './errors';
import type { ColumnIndex, CsvColumn } from './header';
import type { CsvRecord } from './parse';

/** A row that passed every check the file alone allows (UM-enabled is checked later, by the directory). */
export interface CsvRow {
  /** physical file line, header = 1 */
  line: number;
  /** lower-cased */
  address: string;
  /** a secret: never log it, never put it in a workflow payload or an error message */
  password?: string;
  forceChangePassword: boolean;
}

export interface CsvRejectedRow {
  line: number;
  /** as written in the file when it is a valid address; otherwise its redacted form (hiddenCell): it could be a password */
  address: string;
  field: CsvColumn;
  code: CsvRowErrorCode;
  message: string;
  fix: string;
}

export interface CsvResult {
  rows: CsvRow[];
  rejected: CsvRejectedRow[];
}

/** What the target organisation says about domains; a check runs only when its list is given. */
export const csvContextSchema = z.object({
  acceptedDomains: z.array(z.string().min(1)).optional(),
  federatedDomains: z.array(z.string().min(1)).optional(),
  /** added to the tenant but not verified (Microsoft 365) */
  unverifiedDomains: z.array(z.string().min(1)).optional(),
});
export type CsvContext = z.input<typeof csvContextSchema>;

const addressSchema = z.email().max(254);
const forceChangeSchema = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(z.enum(['', 'true', 'false']))
  .transform((value) => value === 'true');

/**
 * What a report, an e-mail, the CLI or the history may show of a cell that is
 * not a valid address: its length only. In a file whose columns are swapped or
 * shifted, that cell is often the password.
 */
export function hiddenCell(cell: string): string {
  return cell === '' ? '' : `(not shown: ${[...cell].length} characters)`;
}

const lowerSet = (domains: string[] | undefined) => (domains ? new Set(domains.map((d) => d.toLowerCase())) : undefined);

/** Checks each data row; a row with a problem is skipped into `rejected` with the first problem found. */
export function checkRows(records: CsvRecord[], columns: ColumnIndex, context: CsvContext): CsvResult {
  const { acceptedDomains, federatedDomains, unverifiedDomains } = csvContextSchema.parse(context);
  const unverified = lowerSet(unverifiedDomains) ?? new Set<string>();
  const accepted = lowerSet(acceptedDomains);
  const federated = lowerSet(federatedDomains) ?? new Set<string>();
  const firstLineOf = new Map<string, number>();
  const result: CsvResult = { rows: [], rejected: [] };

  for (const { line, cells } of records) {
    const written = cells[columns.EmailAddress]!;
    const reject = (field: CsvColumn, code: CsvRowErrorCode, message: string, address = written) =>
      result.rejected.push({ line, address, field, code, message: `Line ${line}: ${message}`, fix: csvRowFixes[code] });

    if (!addressSchema.safeParse(written).success) {
      reject(
        'EmailAddress',
        'BAD_ADDRESS',
        written === ''
          ? 'the EmailAddress is empty.'
          : `the EmailAddress (${[...written].length} characters, not shown: in a file with swapped columns it is the password) is not a valid e-mail address.`,
        hiddenCell(written),
      );
      continue;
    }
    const address = written.toLowerCase();
    const firstLine = firstLineOf.get(address);
    if (firstLine !== undefined) {
      reject('EmailAddress', 'DUPLICATE_ADDRESS', `${address} already appears on line ${firstLine}.`);
      continue;
    }
    firstLineOf.set(address, line);

    const forceChange = forceChangeSchema.safeParse(columns.ForceChangePassword === undefined ? '' : cells[columns.ForceChangePassword]);
    if (!forceChange.success) {
      // The value itself is not echoed: in a file with shifted columns it could be a password.
      reject('ForceChangePassword', 'BAD_FORCE_CHANGE', 'ForceChangePassword is neither True nor False.');
      continue;
    }
    const domain = address.slice(address.lastIndexOf('@') + 1);
    if (unverified.has(domain)) {
      reject('EmailAddress', 'DOMAIN_NOT_VERIFIED', `${domain} is added to the cloud organisation but not verified.`);
      continue;
    }
    if (accepted && !accepted.has(domain)) {
      reject('EmailAddress', 'DOMAIN_NOT_ACCEPTED', `${domain} is not an accepted domain of the cloud organisation.`);
      continue;
    }
    if (forceChange.data && federated.has(domain)) {
      reject('ForceChangePassword', 'FEDERATED_FORCE_CHANGE', `${domain} is federated (single sign-on), so ForceChangePassword cannot be True.`);
      continue;
    }
    const password = columns.Password === undefined ? '' : cells[columns.Password]!;
    result.rows.push({ line, address, ...(password === '' ? {} : { password }), forceChangePassword: forceChange.data });
  }
  return result;
}
