/**
 * Folder patterns as an admin writes them: `*` stays inside one level,
 * `**` crosses levels, `?` is one character. Levels are separated by `/`
 * whatever the server's own delimiter is.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') {
      source += '[^/]*';
    } else if (c === '?') {
      source += '[^/]';
    } else {
      source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  // INBOX is case-insensitive in IMAP (RFC 3501 5.1), so `inbox/*` must match `INBOX/x`.
  return new RegExp(`^${source}$`, /^inbox(\/|$)/i.test(pattern) ? 'i' : '');
}

export function matchesAny(path: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => globToRegExp(p).test(path));
}
