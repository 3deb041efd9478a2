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

/** Exchange's product names by the major.minor its setup writes into a server's serialNumber */
const RELEASES: [major: number, minor: number | null, name: string][] = [
  [6, 0, 'Exchange 2000'],
  [6, 5, 'Exchange 2003'],
  [8, null, 'Exchange 2007'],
  [14, null, 'Exchange 2010'],
  [15, 0, 'Exchange 2013'],
  [15, 1, 'Exchange 2016'],
  [15, 2, 'Exchange 2019'],
];

function versionOf(serialNumber: string): [number, number] | null {
  const match = /Version\s+(\d+)\.(\d+)/i.exec(serialNumber);
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/** `Version 8.3 (Build 83.6)` → `Exchange 2007`; null for a string that is not a version */
export function exchangeServerVersion(serialNumber: string): string | null {
  const version = versionOf(serialNumber);
  if (!version) return null;
  const [major, minor] = version;
  return RELEASES.find(([m, n]) => m === major && (n === null || n === minor))?.[2] ?? `Exchange (version ${major}.${minor})`;
}

/** the server with the highest version: a forest is as new as its newest Exchange server */
export function newestServer<T extends { serialNumber: string }>(servers: T[]): T {
  const rank = (s: T) => {
    const v = versionOf(s.serialNumber);
    return v ? v[0] * 1000 + v[1] : -1;
  };
  return servers.reduce((best, s) => (rank(s) > rank(best) ? s : best));
}
