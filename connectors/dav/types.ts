/** Contacts and calendars (CardDAV/CalDAV in the lab), identified by UID. */

export interface DavEndpoint {
  /** server root, e.g. http://127.0.0.1:17232/ */
  url: string;
  user: string;
  password: string;
  /** allow http:// (no TLS) to a host other than this machine */
  allowPlaintext?: boolean;
}

export interface DavCopyResult {
  contacts: { source: number; copied: number; existing: number };
  events: { source: number; copied: number; existing: number };
}

export interface DavCopier {
  /** copies every address book and calendar of `address` (collections under `/<address>/`) */
  copyDav(source: DavEndpoint, target: DavEndpoint, address: string): Promise<DavCopyResult>;
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
