/** Small LDAP helpers over ldapts for the lab's own writes to the cloud directory (base entries, MEUs, tenant flags). */
import { Attribute, Change, Client } from 'ldapts';
import type { LabInfo } from './info';

export async function withLdap<T>(info: LabInfo, side: 'cloud', fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ url: info[side].ldap.url, timeout: 10000, connectTimeout: 5000 });
  try {
    await client.bind(info[side].ldap.bindDn, info[side].ldap.password);
    return await fn(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

export async function entryExists(client: Client, dn: string): Promise<boolean> {
  try {
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['1.1'] });
    return searchEntries.length > 0;
  } catch (error) {
    if (isNoSuchObject(error)) return false;
    throw error;
  }
}

export function isNoSuchObject(error: unknown): boolean {
  return (error as { code?: number }).code === 32;
}

/** deletes an entry if present; the lab's entries have no children except the suffix's own */
export async function deleteIfExists(client: Client, dn: string): Promise<boolean> {
  try {
    await client.del(dn);
    return true;
  } catch (error) {
    if (isNoSuchObject(error)) return false;
    throw error;
  }
}

export function replace(type: string, values: string | string[]): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type, values: ([] as string[]).concat(values) }) });
}
