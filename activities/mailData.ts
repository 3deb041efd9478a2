/**
 * copyData: mail, then contacts and calendars. The mail copy heartbeats its
 * checkpoint; a retry (another worker, after a crash) starts from the last
 * heartbeat, and a later run from the checkpoint in the mailbox's record.
 */
import { Context } from '@temporalio/activity';
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
    async copyMail(input: { org: string; settings: ConnectionSettings; address: string; checkpoint?: unknown }) {
      const ctx = Context.current();
      const previous = ctx.info.heartbeatDetails as CopyHeartbeat | undefined;
      const recorded = async () => (await connectors.ledger.lookup(input.org, input.address))?.outcome?.checkpoint;
      const beat: CopyHeartbeat = {
        checkpoint: (previous?.checkpoint ?? input.checkpoint ?? (await recorded())) as CopyCheckpoint | undefined,
      };
      const log = logger.child({ mailbox: input.address, step: 'copyData', attempt: ctx.info.attempt });
      log.info({ resumed: Boolean(beat.checkpoint) }, 'mail copy starting');
      // A 25 MB message can take longer than one heartbeat window: keep beating between callbacks.
      const timer = setInterval(() => ctx.heartbeat(beat), 5_000);
      let reconnects = 0;
      return translated(
        async () => {
          const result = await connectors.mail.copyMailbox(
            connectors.sourceImap(input.settings, input.address),
            connectors.targetImap(input.address),
            {
              checkpoint: beat.checkpoint,
              signal: ctx.cancellationSignal,
              onCheckpoint: (checkpoint) => {
                beat.checkpoint = checkpoint;
                ctx.heartbeat(beat);
              },
              onProgress: (progress) => {
                beat.progress = progress;
              },
              onReconnect: ({ reason, waitMs }) => {
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
            reconnects,
            checkpoint: beat.checkpoint,
          };
        },
        async () => clearInterval(timer),
      );
    },

    async copyContactsAndCalendars(input: { settings: ConnectionSettings; address: string }) {
      return translated(async () => {
        const result = await connectors.dav.copyDav(connectors.sourceDav(input.settings), connectors.targetDav(), input.address);
        return { contactsCopied: result.contacts.copied, eventsCopied: result.events.copied };
      });
    },
  };
}
