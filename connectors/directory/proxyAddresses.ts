/**
 * Exchange proxy addresses (`TYPE:address`). An upper-case prefix marks the
 * primary address of that type; exactly one `SMTP:` must remain, the mailbox's
 * primary address, or mail stops resolving to the recipient.
 */

function split(proxy: string): { type: string; address: string } {
  const colon = proxy.indexOf(':');
  return colon < 0 ? { type: '', address: proxy } : { type: proxy.slice(0, colon), address: proxy.slice(colon + 1) };
}

function key(proxy: string): string {
  const { type, address } = split(proxy);
  return `${type.toLowerCase()}:${address.toLowerCase()}`;
}

/**
 * The union of `lists` (first spelling wins, order kept), with `primary` as the
 * only `SMTP:` address and every other smtp address demoted to `smtp:`.
 */
export function mergeProxyAddresses(primary: string, ...lists: string[][]): string[] {
  const seen = new Set<string>();
  const merged: string[] = [];
  const add = (proxy: string): void => {
    const { type, address } = split(proxy);
    const normalised =
      type.toLowerCase() === 'smtp' ? `${address.toLowerCase() === primary.toLowerCase() ? 'SMTP' : 'smtp'}:${address}` : proxy;
    const k = key(normalised);
    if (seen.has(k)) return;
    seen.add(k);
    merged.push(normalised);
  };
  add(`SMTP:${primary}`);
  for (const list of lists) list.forEach(add);
  return merged;
}

/** Same values, ignoring order (prefix case matters: it marks the primary). */
export function sameProxyAddresses(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const sorted = (list: string[]) => [...list].sort().join('\n');
  return sorted(a) === sorted(b);
}
