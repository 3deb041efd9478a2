/**
 * Reading LDAP entries into the connector's types. Attribute names come back
 * in whatever case the server chose, so lookups ignore case.
 */
import type { Entry } from 'ldapts';
import { z } from 'zod';
import type { RecipientType } from './types';

export const recipientType = z.enum(['UserMailbox', 'MailUser']);
export const RECIPIENT_TYPES = recipientType.options;

export const RECIPIENT_ATTRIBUTES = [
  'mail',
  'displayName',
  'cn',
  'mfRecipientType',
  'targetAddress',
  'proxyAddresses',
  'legacyExchangeDN',
  'mfUMEnabled',
  'mfForceChangePassword',
];

function raw(entry: Entry, name: string): unknown {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : entry[key];
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

/** The entry's recipient type, or null for an object mailferry does not manage. */
export function typeOf(entry: Entry): RecipientType | null {
  const parsed = recipientType.safeParse(single(entry, 'mfRecipientType'));
  return parsed.success ? parsed.data : null;
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
