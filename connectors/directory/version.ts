/**
 * Which on-premises versions a staged migration accepts: the seed excludes
 * Exchange 2010 and everything after it.
 */

/** The release year in a version string such as `Exchange 2007` or `Microsoft Exchange Server 2003 SP2`. */
export function exchangeYear(version: string): number | null {
  const match = /exchange(?:\s+server)?\s+(\d{4})\b/i.exec(version);
  return match ? Number(match[1]) : null;
}

export function supportsStagedMigration(version: string): boolean {
  const year = exchangeYear(version);
  return year !== null && year < 2010;
}
