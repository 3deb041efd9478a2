import type { AdminLogin } from '../../shared/domain';
import type { AccessToken } from '../m365/token';

/** What mailferry needs to copy one mailbox's mail (IMAP in the lab). */

export interface ImapEndpoint {
  host: string;
  port: number;
  /** implicit TLS; when false and `requireTls` is true the connector refuses to log in */
  secure: boolean;
  /** refuse plaintext authentication to a non-loopback host unless this is true */
  allowPlaintext?: boolean;
  /** the login; with `mailbox`, the administrator's own */
  user: string;
  password: string;
  /** open this mailbox with the administrator's rights (FullAccess), logging in as `adminLogin` says */
  mailbox?: string;
  adminLogin?: AdminLogin;
  /**
   * App-only OAuth 2.0 (Exchange Online): log in as `user` (the mailbox itself) with XOAUTH2/OAUTHBEARER and
   * a token from here instead of `password`; asked again for every session, and a session is replaced before
   * its token's `renewAt`
   */
  token?: () => Promise<AccessToken>;
  /** the largest message the server takes (Exchange's MaxReceiveSize), in bytes: a larger one is a bad item, never sent */
  maxMessageBytes?: number;
}

/**
 * Per source folder: every message with UID ≤ lastUid is on the target or
 * listed as a bad item. `copied` maps what this copy appended, as runs
 * `[source UID, target UID, length]` from the target's APPENDUID, valid while
 * the target folder keeps `targetUidValidity` (absent without UIDPLUS).
 */
export interface CopyCheckpoint {
  folders: Record<string, { uidValidity: string; lastUid: number; done: boolean; copied?: Array<[number, number, number]>; targetUidValidity?: string }>;
}

/** A message the copy placed on the target whose source message is gone (deleted since the copy). */
export interface DeletedOnSource {
  folder: string;
  subject: string | null;
  date: string | null;
  /** removed from the target as well (deleteOnTarget) */
  deletedOnTarget: boolean;
}

export interface CopyProgress {
  folder: string;
  foldersDone: number;
  foldersTotal: number;
  messagesCopied: number;
  bytesCopied: number;
  /** already on the target (delta sync) */
  messagesExisting: number;
  messagesFailed: number;
}

export interface BadItem {
  folder: string;
  uid: number;
  date: string | null;
  subject: string | null;
  size: number;
  reason: string;
}

export interface CopyResult {
  folders: number;
  messagesSource: number;
  messagesCopied: number;
  bytesCopied: number;
  messagesExisting: number;
  /** filtered out by age/size/folder rules */
  messagesSkipped: number;
  /** left out of their group's FETCH answer, then fetched again alone (copied, vanished, or listed as bad items) */
  readAheadMisses: number;
  /** expunged from the source between the inventory and the FETCH: counted, nothing left to copy */
  messagesVanished: number;
  /** appended while another attempt of this copy appended them too, then deleted again (counted as already there) */
  racedCopies: number;
  badItems: BadItem[];
  /** messages on the target whose flags were set to the source's (syncFlags) */
  flagsUpdated: number;
  /** found by a delta pass (syncFlags) through the checkpoint's map of what was copied */
  deletedOnSource: DeletedOnSource[];
  durationMs: number;
}

export interface CopyOptions {
  /** glob-ish patterns on the source folder path (`Archive/*`); default all */
  includeFolders?: string[];
  excludeFolders?: string[];
  /** source path → target path, applied before special-use mapping */
  renameFolders?: Record<string, string>;
  maxAgeDays?: number;
  maxMessageBytes?: number;
  /** more failed messages than this fails the copy with BAD_ITEM_LIMIT (default 50) */
  badItemLimit?: number;
  checkpoint?: CopyCheckpoint;
  /**
   * A delta pass: set the flags of every message already copied to the
   * source's (the source wins, as imapsync does by default: until the cutover
   * the user works on the source). Costs one more inventory per folder.
   */
  syncFlags?: boolean;
  /** in a delta pass, also delete on the target what was deleted on the source since the copy (default: only report it) */
  deleteOnTarget?: boolean;
  onProgress?: (progress: CopyProgress) => void;
  /** called after each durable step; persist it to resume after a crash */
  onCheckpoint?: (checkpoint: CopyCheckpoint) => void;
  signal?: AbortSignal;
  /** called before each reconnect after throttling or a dropped session (the batch's adaptive concurrency counts them) */
  onReconnect?: (info: { reason: string; waitMs: number }) => void;
}

export interface MailCopier {
  copyMailbox(source: ImapEndpoint, target: ImapEndpoint, options?: CopyOptions): Promise<CopyResult>;
  /** log in and log out: the connection test of the settings */
  testLogin(endpoint: ImapEndpoint): Promise<void>;
}
