/**
 * The IMAP mail connector: copies one mailbox folder by folder over one
 * source and one target session, reconnecting through throttling and
 * dropped sessions, resumable from a checkpoint and idempotent on re-runs.
 */
import type { ImapFlow } from 'imapflow';
import { MailferryError } from '../../shared/errors';
import { closeImap, openImap, tokenDue } from './connect';
import { copyFolder } from './copy';
import { listFolders, planFolders } from './folders';
import { CopyRun } from './run';
import { defaultRetryPolicy, withReconnect, type RetryPolicy } from './throttle';
import type { AdminLogin } from '../../shared/domain';
import type { CopyOptions, CopyResult, ImapEndpoint, MailCopier } from './types';

export type * from './types';
export { BadItemLimitError } from './run';

export interface MailCopierConfig {
  retry?: RetryPolicy;
}

interface Sessions {
  source: ImapFlow;
  target: ImapFlow;
}

async function openSessions(source: ImapEndpoint, target: ImapEndpoint): Promise<Sessions> {
  const [s, t] = await Promise.allSettled([openImap(source), openImap(target)]);
  if (s.status === 'fulfilled' && t.status === 'fulfilled') return { source: s.value, target: t.value };
  await closeImap(s.status === 'fulfilled' ? s.value : undefined);
  await closeImap(t.status === 'fulfilled' ? t.value : undefined);
  throw s.status === 'rejected' ? s.reason : (t as PromiseRejectedResult).reason;
}

async function closeSessions(sessions: Sessions | undefined): Promise<void> {
  if (sessions) await Promise.all([closeImap(sessions.source), closeImap(sessions.target)]);
}

/** One pass over every folder; a reconnect starts a new pass that skips what the checkpoint covers. */
async function copyAllFolders(sessions: Sessions, run: CopyRun): Promise<void> {
  const [sourceFolders, targetFolders] = [await listFolders(sessions.source), await listFolders(sessions.target)];
  const pairs = planFolders(sourceFolders, targetFolders, run.options);
  run.sourcePaths = new Set(sourceFolders.folders.map((f) => f.path));
  run.targetFolders = targetFolders;
  run.foldersTotal = pairs.length;
  run.foldersDone = 0;
  for (const pair of pairs) {
    run.throwIfAborted();
    await copyFolder(sessions, pair, run);
    run.foldersDone++;
    run.progress(pair.source.path);
  }
}

function asCopyError(err: unknown): unknown {
  if (err instanceof MailferryError || (err instanceof Error && err.name === 'AbortError')) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new MailferryError('COPY_FAILED', `The mail copy failed: ${message}`, { permanent: false, cause: err });
}

/** A mailbox opened with the migration administrator's rights (connect.ts turns it into the login). */
export function adminEndpoint(
  server: Pick<ImapEndpoint, 'host' | 'port' | 'secure' | 'allowPlaintext'>,
  admin: { user: string; password: string },
  address: string,
  adminLogin: AdminLogin = 'master',
): ImapEndpoint {
  return { ...server, user: admin.user, password: admin.password, mailbox: address, adminLogin };
}

/** A mailbox opened by an app with an app-only token (Exchange Online: IMAP.AccessAsApp and FullAccess), logging in as the mailbox. */
export function appEndpoint(
  server: Pick<ImapEndpoint, 'host' | 'port' | 'secure' | 'allowPlaintext' | 'maxMessageBytes'>,
  address: string,
  token: NonNullable<ImapEndpoint['token']>,
): ImapEndpoint {
  return { ...server, user: address, password: '', token };
}

export function createMailCopier(config: MailCopierConfig = {}): MailCopier {
  const policy = config.retry ?? defaultRetryPolicy;
  return {
    async copyMailbox(source: ImapEndpoint, target: ImapEndpoint, options: CopyOptions = {}): Promise<CopyResult> {
      const started = Date.now();
      const run = new CopyRun(options);
      run.targetMaxBytes = target.maxMessageBytes;
      // Exchange Online ends a session whose token has expired at its next command (BYE ... AccessTokenExpired):
      // a session is replaced, with a new token, before that
      run.renewTarget = async (open) => {
        if (!tokenDue(open.target)) return;
        const expiring = open.target;
        open.target = await openImap(target);
        await closeImap(expiring);
      };
      // The first login fails fast (wrong password, server down): only an established copy is worth riding out.
      let sessions: Sessions | undefined = await openSessions(source, target);
      try {
        await withReconnect(
          policy,
          async () => {
            sessions ??= await openSessions(source, target);
            try {
              await copyAllFolders(sessions, run);
            } catch (err) {
              const broken = sessions;
              sessions = undefined;
              await closeSessions(broken);
              throw err;
            }
          },
          () => run.advancedSinceLastLook(),
          options.signal,
          options.onReconnect,
        );
      } catch (err) {
        throw asCopyError(err);
      } finally {
        await closeSessions(sessions);
      }
      return {
        folders: run.foldersTotal,
        messagesSource: [...run.sourceCounts.values()].reduce((a, b) => a + b, 0),
        messagesCopied: run.messagesCopied,
        bytesCopied: run.bytesCopied,
        messagesExisting: run.messagesExisting,
        messagesSkipped: run.messagesSkipped,
        readAheadMisses: run.readAheadMisses,
        messagesVanished: run.messagesVanished,
        racedCopies: run.racedCopies,
        badItems: run.badItems,
        flagsUpdated: run.flagsUpdated,
        deletedOnSource: run.deletedOnSource,
        durationMs: Date.now() - started,
      };
    },

    async testLogin(endpoint: ImapEndpoint): Promise<void> {
      await closeImap(await openImap(endpoint));
    },
  };
}
