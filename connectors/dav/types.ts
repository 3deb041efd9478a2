/** Contacts and calendars (CardDAV/CalDAV in the lab), identified by UID. */

export interface DavEndpoint {
  /** server root, e.g. http://127.0.0.1:17232/ */
  url: string;
  user: string;
  password: string;
  /** allow http:// (no TLS) to a host other than this machine */
  allowPlaintext?: boolean;
}

export interface DavKindCounts {
  /** items read from the source */
  source: number;
  copied: number;
  /** the target already held the UID */
  existing: number;
}

/** An item the target refused (any 4xx) or the source could not return: listed, counted, not fatal. */
export interface DavBadItem {
  /** a contact (address book) or an event (calendar); absent in checkpoints written before it was kept */
  kind?: 'contact' | 'event';
  /** the collection's name, e.g. `calendar` */
  collection: string;
  uid: string;
  /** SUMMARY of an event, FN of a contact */
  summary: string;
  /** the server's answer, e.g. `413 Request Entity Too Large` */
  answer: string;
}

export interface DavCopyResult {
  contacts: DavKindCounts;
  events: DavKindCounts;
  badItems: DavBadItem[];
  /**
   * Microsoft Graph target: events that had attendees, and how many. Unless
   * invitations are sent, they were created without them (the list is in the
   * body and an extended property), so no attendee got an invitation.
   */
  attendees?: { events: number; attendees: number; invited: boolean };
}

/**
 * Where a DAV copy stands, as a plain JSON value (the activity heartbeats it
 * and the mailbox's record stores it unchanged). Collections in `done` are
 * copied to the end; in `current`, every source item whose path sorts at or
 * before `after` is on the target or listed in `result.badItems`.
 */
export interface DavCheckpoint {
  done: string[];
  current?: { collection: string; after: string };
  /** totals so far, so a resumed copy reports the whole mailbox */
  result: DavCopyResult;
}

export interface DavCopyOptions {
  checkpoint?: DavCheckpoint;
  /** called after every group of items put at once (the target's concurrency) and every collection: heartbeat it, persist it to resume */
  onProgress?: (checkpoint: DavCheckpoint) => void;
  /** more bad items than this fails the copy with BAD_ITEM_LIMIT (default 50) */
  badItemLimit?: number;
  /** source items read per multiget REPORT (default PAGE): what the copy holds of the source at once */
  pageSize?: number;
  signal?: AbortSignal;
}

export interface DavCopier {
  /** copies every address book and calendar of `address` (collections under `/<address>/`) */
  copyDav(source: DavEndpoint, target: DavEndpoint, address: string, options?: DavCopyOptions): Promise<DavCopyResult>;
  /** whether any address book or calendar of `address` on `source` holds an item: without one there is nothing to copy */
  holdsItems(source: DavEndpoint, address: string): Promise<boolean>;
}

/** Items per kind, counted by UID. */
export interface DavCounts {
  contacts: number;
  events: number;
}

/** UIDs the target lacks (`missing`) or holds beyond the source (`extra`), compared collection by collection. */
export interface DavDifference {
  missing: string[];
  extra: string[];
}

export interface DavVerification {
  contacts: DavDifference;
  events: DavDifference;
}
