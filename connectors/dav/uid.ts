/**
 * The UID of an iCalendar object or vCard: identity for delta copies, since
 * the target may name the same item differently.
 */

/** Undoes RFC 5545 / 6350 line folding (CRLF followed by a space or tab). */
function unfold(text: string): string[] {
  return text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/);
}

/** The first UID outside a VTIMEZONE (time zones carry TZIDs, not UIDs, but stay safe). */
export function itemUid(text: string): string | null {
  let inTimezone = false;
  for (const line of unfold(text)) {
    const upper = line.toUpperCase();
    if (upper === 'BEGIN:VTIMEZONE') inTimezone = true;
    else if (upper === 'END:VTIMEZONE') inTimezone = false;
    else if (!inTimezone) {
      const match = /^UID(?:;[^:]*)?:(.*)$/i.exec(line);
      if (match && match[1]) return match[1].trim();
    }
  }
  return null;
}

/** What a person recognises an item by in the bad-item list: an event's SUMMARY, a contact's FN. */
export function itemSummary(text: string): string {
  for (const line of unfold(text)) {
    const match = /^(?:[\w-]+\.)?(?:SUMMARY|FN)(?:;[^:]*)?:(.*)$/i.exec(line);
    if (match && match[1]) return match[1].trim().replace(/\\([,;\\])/g, '$1').slice(0, 120);
  }
  return '';
}
