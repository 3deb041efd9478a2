/**
 * copyData: mail, then contacts and calendars. The mail copy heartbeats its
 * checkpoint; a retry (another worker, after a crash) starts from the last
 * heartbeat, and a later run from the checkpoint in the mailbox's record.
 * Heartbeats come from the copy's own progress (a body read, a group stored,
 * a folder done), never from a timer: a copy that stops moving misses its
 * heartbeat timeout and is retried elsewhere.
 */
import { Context } from '@temporalio/activity';
import type { DavCheckpoint, DavCopyOptions } from '../connectors/dav/types';
import type { CopyCheckpoint, CopyProgress } from '../connectors/mail/types';
import type { ConnectionSettings } from '../shared/domain';
import type { ActivityDeps } from './deps';
import { translated } from './failures';

export interface CopyHeartbeat {
  checkpoint?: CopyCheckpoint;
  progress?: CopyProgress;
}

export function createMailDataActivities({ connectors, logger }: ActivityDeps) {
  return {
    /**
     * `syncFlags`: a delta pass also sets the flags changed on the source since the copy (the source wins) and
     * reports what was deleted on the source; `deleteOnTarget` deletes that on the target too.
     */
    async copyMail(input: {
      org: string;
      settings: ConnectionSettings;
      address: string;
      checkpoint?: unknown;
      syncFlags?: boolean;
      deleteOnTarget?: boolean;
    }) {
      const ctx = Context.current();
      const previous = ctx.info.heartbeatDetails as CopyHeartbeat | undefined;
      const recorded = async () => (await connectors.ledger.lookup(input.org, input.address))?.outcome?.checkpoint;
      const beat: CopyHeartbeat = {
        checkpoint: (previous?.checkpoint ?? input.checkpoint ?? (await recorded())) as CopyCheckpoint | undefined,
      };
      const log = logger.child({ mailbox: input.address, step: 'copyData', attempt: ctx.info.attempt });
      log.info({ resumed: Boolean(beat.checkpoint) }, 'mail copy starting');
      // From the first checkpoint on: a heartbeat's details are what a retry resumes from.
      const heartbeat = () => beat.checkpoint && ctx.heartbeat(beat);
      let reconnects = 0;
      return translated(
        async () => {
          const result = await connectors.mail.copyMailbox(
            connectors.sourceImap(input.settings, input.address),
            connectors.targetImap(input.settings, input.address),
            {
              checkpoint: beat.checkpoint,
              syncFlags: input.syncFlags,
              deleteOnTarget: input.deleteOnTarget,
              signal: ctx.cancellationSignal,
              onCheckpoint: (checkpoint) => {
                beat.checkpoint = checkpoint;
                ctx.heartbeat(beat);
              },
              onProgress: (progress) => {
                beat.progress = progress;
                heartbeat();
              },
              // not progress, but the copy is alive; its own stall limit ends a copy that only reconnects
              onReconnect: ({ reason, waitMs }) => {
                heartbeat();
                reconnects++;
                log.warn({ reason, waitMs }, 'mail server pushed back; reconnecting');
              },
            },
          );
          log.info(
            { copied: result.messagesCopied, existing: result.messagesExisting, bytes: result.bytesCopied, ms: result.durationMs },
            'mail copy done',
          );
          return {
            messagesCopied: result.messagesCopied,
            bytesCopied: result.bytesCopied,
            messagesExisting: result.messagesExisting,
            badItems: result.badItems.length,
            flagsUpdated: result.flagsUpdated,
            deletedOnSource: result.deletedOnSource,
            reconnects,
            checkpoint: beat.checkpoint,
          };
        },
      );
    },

    /**
     * Heartbeats the DAV checkpoint after every item, so a copy that stops
     * moving misses its heartbeat timeout and is retried, and the retry (or a
     * later run given `checkpoint`) continues after the last item handled.
     */
    async copyContactsAndCalendars(input: { settings: ConnectionSettings; address: string; checkpoint?: DavCheckpoint; badItemLimit?: number }) {
      const ctx = Context.current();
      const previous = ctx.info.heartbeatDetails as { checkpoint?: DavCheckpoint } | undefined;
      let checkpoint = previous?.checkpoint ?? input.checkpoint;
      return translated(async () => {
        const options: DavCopyOptions = {
          checkpoint,
          badItemLimit: input.badItemLimit,
          signal: ctx.cancellationSignal,
          onProgress: (next) => {
            checkpoint = next;
            ctx.heartbeat({ checkpoint });
          },
        };
        const source = connectors.sourceDav(input.settings);
        const graph = connectors.graphPim(input.settings);
        const result = graph ? await graph.copyPim(source, input.address, options) : await connectors.dav.copyDav(source, connectors.targetDav(), input.address, options);
        return {
          contactsCopied: result.contacts.copied,
          eventsCopied: result.events.copied,
          contactsExisting: result.contacts.existing,
          eventsExisting: result.events.existing,
          badItems: result.badItems,
          /** Microsoft 365: meetings created without their attendees (no invitation sent), or with them when invitations were asked for */
          attendees: result.attendees,
          checkpoint,
        };
      });
    },
  };
}
