/**
 * The state of one copyMailbox call that outlives reconnects: the in-memory
 * checkpoint, the counters and the bad items, and the callbacks that
 * report them.
 */
import { MailferryError } from '../../shared/errors';
import type { ImapFlow } from 'imapflow';
import type { FolderListing } from './folders';
import type { MessageMeta } from './identity';
import type { BadItem, CopyCheckpoint, CopyOptions, CopyProgress, DeletedOnSource } from './types';

/** BAD_ITEM_LIMIT, carrying the items so the row's report can list them. */
export class BadItemLimitError extends MailferryError {
  constructor(
    readonly badItems: BadItem[],
    limit: number,
  ) {
    const last = badItems[badItems.length - 1];
    super('BAD_ITEM_LIMIT', `${badItems.length} messages could not be copied (limit ${limit}); the last one, in ${last.folder}: ${last.reason}`);
  }
}

export class CopyRun {
  readonly checkpoint: CopyCheckpoint;
  readonly badItems: BadItem[] = [];
  /** per source folder, the message count seen by the latest pass */
  readonly sourceCounts = new Map<string, number>();
  messagesCopied = 0;
  bytesCopied = 0;
  messagesExisting = 0;
  messagesSkipped = 0;
  /** left out of their group's FETCH answer and fetched again alone */
  readAheadMisses = 0;
  /** expunged from the source between the inventory and the FETCH */
  messagesVanished = 0;
  flagsUpdated = 0;
  /** appended while another writer appended the same messages, and deleted again (copy.ts, keepCopies) */
  racedCopies = 0;
  readonly deletedOnSource: DeletedOnSource[] = [];
  /** the source folders of the current pass, and the target's folders as listed at its start */
  sourcePaths = new Set<string>();
  targetFolders: FolderListing = { delimiter: '/', folders: [] };
  foldersDone = 0;
  foldersTotal = 0;
  /** the target's largest message (MaxReceiveSize), when it says or the settings do */
  targetMaxBytes: number | undefined;
  /**
   * Per target folder, the first target UID this pass has not seen: what lies between it and the UIDs of this
   * pass's next APPEND was put there by someone else since (copy.ts, dropRacedCopies).
   */
  readonly targetSeen = new Map<string, number>();
  /** per target folder, the messages met there that other writers appended during this pass, not yet matched */
  readonly targetOthers = new Map<string, MessageMeta[]>();
  /** replaces the target session when its token is due for renewal (index.ts); sessions without a token never are */
  renewTarget: (sessions: { target: ImapFlow }) => Promise<void> = async () => undefined;
  private checkpointsEmitted = 0;
  private readonly visited = new Set<string>();
  private checkpointsAtLastLook = 0;

  constructor(readonly options: CopyOptions) {
    // A private copy: the caller's object must not change under it while we advance it.
    this.checkpoint = structuredClone(options.checkpoint ?? { folders: {} });
  }

  /** true the first time this run reaches a source folder (reconnect passes reach it again) */
  firstVisit(path: string): boolean {
    if (this.visited.has(path)) return false;
    this.visited.add(path);
    return true;
  }

  get badItemLimit(): number {
    return this.options.badItemLimit ?? 50;
  }

  addBadItem(item: BadItem): void {
    this.badItems.push(item);
    if (this.badItems.length > this.badItemLimit) {
      throw new BadItemLimitError(this.badItems, this.badItemLimit);
    }
  }

  progress(folder: string): void {
    const p: CopyProgress = {
      folder,
      foldersDone: this.foldersDone,
      foldersTotal: this.foldersTotal,
      messagesCopied: this.messagesCopied,
      bytesCopied: this.bytesCopied,
      messagesExisting: this.messagesExisting,
      messagesFailed: this.badItems.length,
    };
    this.options.onProgress?.(p);
  }

  saveCheckpoint(): void {
    this.checkpointsEmitted++;
    this.options.onCheckpoint?.(structuredClone(this.checkpoint));
  }

  /** Whether a checkpoint was emitted since the last call: the reconnect loop's "made progress". */
  advancedSinceLastLook(): boolean {
    const advanced = this.checkpointsEmitted > this.checkpointsAtLastLook;
    this.checkpointsAtLastLook = this.checkpointsEmitted;
    return advanced;
  }

  throwIfAborted(): void {
    this.options.signal?.throwIfAborted();
  }
}
