/**
 * Reading LDAP entries into the connector's types. Attribute names come back
 * in whatever case the server chose, so lookups ignore case.
 */
import type { Entry } from 'ldapts';
import { z } from 'zod';

export const recipientType = z.enum(['UserMailbox', 'MailUser']);

function raw(entry: Entry, name: string): unknown {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : entry[key];
}

export function present(entry: Entry, name: string): boolean {
  return values(entry, name).length > 0;
}

/** a binary attribute (requested as a Buffer) */
export function bytes(entry: Entry, name: string): Buffer | null {
  const value = raw(entry, name);
  const first = Array.isArray(value) ? value[0] : value;
  return Buffer.isBuffer(first) ? first : null;
}

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

export function values(entry: Entry, name: string): string[] {
  const value = raw(entry, name);
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(text);
}

export function single(entry: Entry, name: string): string | null {
  return values(entry, name)[0] ?? null;
}

export function flag(entry: Entry, name: string): boolean {
  return single(entry, name)?.toUpperCase() === 'TRUE';
}

/** True when `address` is the entry's primary mail or one of its smtp proxy addresses. */
export function answersTo(entry: Entry, address: string): boolean {
  const wanted = address.toLowerCase();
  if (single(entry, 'mail')?.toLowerCase() === wanted) return true;
  return values(entry, 'proxyAddresses').some((p) => p.toLowerCase() === `smtp:${wanted}`);
}

/**
 * Picks the entry an address names: the server's match is re-checked here and
 * an entry whose primary address it is wins over one holding it as an alias.
 */
export function pickByAddress(entries: Entry[], address: string): Entry | null {
  const matching = entries.filter((e) => answersTo(e, address));
  return matching.find((e) => single(e, 'mail')?.toLowerCase() === address.toLowerCase()) ?? matching[0] ?? null;
}
