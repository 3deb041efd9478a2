/**
 * copyData: mail, then contacts and calendars. The mail copy heartbeats its
 * checkpoint; a retry (another worker, after a crash) starts from the last
 * heartbeat, and a later run from the checkpoint in the mailbox's record.
 * Heartbeats come from the copy's own progress (a body read, a group stored,
 * a folder done), never from a timer: a copy that stops moving misses its
 * heartbeat timeout and is retried elsewhere.
 */
import { Context } from '@temporalio/activity';
import type { DavBadItem, DavCheckpoint, DavCopyOptions } from '../connectors/dav/types';
import type { BadItem, CopyCheckpoint, CopyProgress } from '../connectors/mail/types';
import { parseCopyRules } from '../shared/copyRules';
import type { BadItemEntry, ConnectionSettings, CopyFailureDetails } from '../shared/domain';
import type { ActivityDeps } from './deps';
import { asFailure } from './failures';

export interface CopyHeartbeat extends CopyFailureDetails {
  checkpoint?: CopyCheckpoint;
  progress?: CopyProgress;
}

export const mailBadItem = (b: BadItem): BadItemEntry => ({ kind: 'message', folder: b.folder, uid: b.uid, date: b.date, subject: b.subject, reason: b.reason });

export const davBadItem = (b: DavBadItem): BadItemEntry => ({
  // items listed before the DAV copy said their kind were from calendars or address books alike; the collection tells
  kind: b.kind ?? 'event',
  collection: b.collection,
  uid: b.uid,
  summary: b.summary,
  answer: b.answer,
});

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
      // The workflow skips the contacts/calendar activity of a mailbox with no contact and no event (an empty address
      // book or calendar has nothing to copy); a DAV server that does not answer leaves it to that activity. Asked
      // beside the mail copy, not after it: the answer does not depend on the mail, and a row then waits for one
      // round trip, not two in a row.
      const pimItems = (async () => {
        // a DAV endpoint that cannot be opened (its password) still fails the activity, after the mail copy as before
        const dav = connectors.sourceDav(input.settings);
        return connectors.dav.holdsItems(dav, input.address).catch(() => true);
      })();
      pimItems.catch(() => undefined); // a copy that fails first never awaits it
      try {
        // the rules were checked by the CLI; checked again here, where they take effect (settings kept before the rules existed have none)
        const rules = parseCopyRules(input.settings.copyRules);
        const result = await connectors.mail.copyMailbox(
          connectors.sourceImap(input.settings, input.address),
          connectors.targetImap(input.settings, input.address),
          {
            ...rules,
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
              beat.copied = { messagesCopied: progress.messagesCopied, bytesCopied: progress.bytesCopied };
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
        const holdsPim = await pimItems;
        log.info(
          {
            pimItems: holdsPim,
            copied: result.messagesCopied,
            existing: result.messagesExisting,
            bytes: result.bytesCopied,
            ms: result.durationMs,
            readAheadMisses: result.readAheadMisses,
            vanished: result.messagesVanished,
            raced: result.racedCopies,
          },
          'mail copy done',
        );
        return {
          messagesCopied: result.messagesCopied,
          bytesCopied: result.bytesCopied,
          messagesExisting: result.messagesExisting,
          badItems: result.badItems.length,
          badItemsFound: result.badItems.map(mailBadItem),
          messagesSkipped: result.messagesSkipped,
          readAheadMisses: result.readAheadMisses,
          messagesVanished: result.messagesVanished,
          flagsUpdated: result.flagsUpdated,
          deletedOnSource: result.deletedOnSource,
          reconnects,
          checkpoint: beat.checkpoint,
          pimItems: holdsPim,
        };
      } catch (err) {
        const badItems = (err as { badItems?: BadItem[] }).badItems;
        // Past the bad-item limit the checkpoint has moved past the refused messages; a resume, once the admin has
        // fixed the cause (a quota raised), must meet them again, so it starts from the record's checkpoint instead,
        // and the refused messages are not kept as given up: the resume lists those still refused.
        const details: CopyFailureDetails = badItems ? { copied: beat.copied } : { checkpoint: beat.checkpoint, copied: beat.copied };
        throw asFailure(err, details);
      }
    },

    /**
     * Heartbeats the DAV checkpoint after every item, so a copy that stops
     * moving misses its heartbeat timeout and is retried, and the retry (or a
     * later run given `checkpoint`) continues after the last item handled.
     */
    async copyContactsAndCalendars(input: {
      org?: string;
      settings: ConnectionSettings;
      address: string;
      checkpoint?: DavCheckpoint;
      badItemLimit?: number;
    }) {
      const ctx = Context.current();
      const previous = ctx.info.heartbeatDetails as { checkpoint?: DavCheckpoint; base?: DavCheckpoint['result'] } | undefined;
      // a retry goes on from its heartbeat; a new run (a resume in a later batch) from the record's checkpoint
      const recorded = async () =>
        input.org ? ((await connectors.ledger.lookup(input.org, input.address))?.outcome?.davCheckpoint as DavCheckpoint | null | undefined) : undefined;
      let checkpoint = previous?.checkpoint ?? input.checkpoint ?? (await recorded()) ?? undefined;
      // what an earlier run already counted in its own outcome: this run reports only what it adds
      const base = previous?.base ?? checkpoint?.result;
      const beyondBase = (c: DavCheckpoint | undefined) => ({
        contactsCopied: (c?.result.contacts.copied ?? 0) - (base?.contacts.copied ?? 0),
        eventsCopied: (c?.result.events.copied ?? 0) - (base?.events.copied ?? 0),
      });
      const listed = (items: DavBadItem[]) => items.map(davBadItem);
      try {
        const options: DavCopyOptions = {
          checkpoint,
          badItemLimit: input.badItemLimit,
          signal: ctx.cancellationSignal,
          onProgress: (next) => {
            checkpoint = next;
            ctx.heartbeat({ checkpoint, base, copied: beyondBase(checkpoint) });
          },
        };
        const source = connectors.sourceDav(input.settings);
        const graph = connectors.graphPim(input.settings);
        const result = graph ? await graph.copyPim(source, input.address, options) : await connectors.dav.copyDav(source, connectors.targetDav(), input.address, options);
        const added = beyondBase({ done: [], result });
        return {
          contactsCopied: added.contactsCopied,
          eventsCopied: added.eventsCopied,
          contactsExisting: result.contacts.existing,
          eventsExisting: result.events.existing,
          badItems: result.badItems,
          badItemsFound: listed(result.badItems),
          /** Microsoft 365: meetings created without their attendees (no invitation sent), or with them when invitations were asked for */
          attendees: result.attendees,
          // done: the next pass reads every collection again, for what arrived since
          checkpoint: null,
        };
      } catch (err) {
        const badItems = (err as { badItems?: DavBadItem[] }).badItems ?? checkpoint?.result.badItems;
        const details: CopyFailureDetails = { checkpoint, copied: beyondBase(checkpoint), badItems: badItems && listed(badItems) };
        throw asFailure(err, details);
      }
    },
  };
}
