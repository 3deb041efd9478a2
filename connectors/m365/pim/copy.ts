/**
 * Contacts and calendars from the source DAV server into Microsoft Graph:
 * each address book becomes a contact folder, each calendar a calendar, of
 * the same display name. Before creating an item the copy asks Graph for the
 * item carrying its source UID (an extended property), so a re-run or a
 * retried activity creates nothing twice. A recurring event is created
 * first, then its instances are changed (overrides) or deleted (EXDATE);
 * those changes are made again on a re-run, since they are idempotent and an
 * attempt may have stopped between them.
 *
 * Requests go through Microsoft's client with its retry middleware, which
 * honours 429/503 Retry-After (connectors/m365/graph.ts); at most
 * MAX_CONCURRENT requests run at once for one app and mailbox, a throttled
 * one keeping its slot while it waits.
 */
import { GraphError, type Context, type Middleware } from '@microsoft/microsoft-graph-client';
import type { Calendar, ContactFolder, Event } from '@microsoft/microsoft-graph-types';
import pLimit from 'p-limit';
import { copyToTarget, type Placed, type PimTarget } from '../../dav/copy';
import type { DavCollection } from '../../dav/collections';
import type { DavItem } from '../../dav/items';
import type { DavCopyOptions, DavCopyResult, DavEndpoint } from '../../dav/types';
import { allPages, createGraphClient, graphRefusal, type GraphEndpoint } from '../graph';
import { icalToEvent, type EventMappingOptions, type InstanceChange } from './events';
import { uidFilter } from './extendedProperties';
import { ianaOf, parseWall, wallToEpoch } from './timezones';
import { vcardToContact } from './vcard';

/** Exchange Online's limit of concurrent requests per app and mailbox */
export const MAX_CONCURRENT = 4;

export interface GraphPimTarget extends GraphEndpoint, EventMappingOptions {
  /** the app registration (client id): the concurrency limit is per app and mailbox */
  app: string;
}

export interface GraphPimCopier {
  copyPim(source: DavEndpoint, address: string, options?: DavCopyOptions): Promise<DavCopyResult>;
}

/** Holds one of the mailbox's request slots for the whole request, its Retry-After waits included. */
class ConcurrencyLimit implements Middleware {
  private next?: Middleware;
  constructor(private readonly limit: pLimit.Limit) {}
  execute(context: Context): Promise<void> {
    return this.limit(() => this.next!.execute(context));
  }
  setNext(next: Middleware): void {
    this.next = next;
  }
}

/** per app and mailbox, for every copy this process runs */
const slots = new Map<string, pLimit.Limit>();
function slotsOf(app: string, address: string): pLimit.Limit {
  const key = `${app}\0${address.toLowerCase()}`;
  let limit = slots.get(key);
  if (!limit) {
    limit = pLimit(MAX_CONCURRENT);
    slots.set(key, limit);
  }
  return limit;
}

/** 4xx other than throttling and authentication: this one item is refused, the copy goes on. */
function refusal(error: unknown): { refused: string } | null {
  if (!(error instanceof GraphError)) return null;
  const status = error.statusCode;
  if (status < 400 || status >= 500 || status === 401 || status === 403 || status === 429) return null;
  return { refused: `${status} ${error.code ?? ''}: ${error.message}`.replace(/\s+:/, ':') };
}

interface Found {
  id: string;
}

const DAY_MS = 86_400_000;
const epochOf = (t: { dateTime?: string | null; timeZone?: string | null } | null | undefined) =>
  t?.dateTime ? wallToEpoch(parseWall(t.dateTime), ianaOf(t.timeZone ?? 'UTC') ?? 'UTC') : null;

export function createGraphPimCopier(target: GraphPimTarget): GraphPimCopier {
  return {
    async copyPim(source, address, options = {}) {
      const client = createGraphClient(target, [new ConcurrencyLimit(slotsOf(target.app, address))]);
      const failure = (error: unknown) => graphRefusal(error, `the contacts and calendars of ${address}`);
      const user = `/users/${encodeURIComponent(address)}`;

      const one = async (path: string, uid: string): Promise<Found | null> => {
        const page = (await client.api(path).filter(uidFilter(uid)).select('id').top(1).get()) as { value: Found[] };
        return page.value[0] ?? null;
      };

      const ensureFolder = async (collection: DavCollection): Promise<string> => {
        const name = collection.displayName || collection.name;
        if (collection.kind === 'addressbook') {
          const listed = await allPages<ContactFolder>(client, await client.api(`${user}/contactFolders`).filter(`displayName eq '${name.replace(/'/g, "''")}'`).get());
          const found = listed[0]?.id;
          if (found) return found;
          return ((await client.api(`${user}/contactFolders`).post({ displayName: name })) as ContactFolder).id!;
        }
        const calendars = await allPages<Calendar>(client, await client.api(`${user}/calendars`).select('id,name').top(250).get());
        const found = calendars.find((c) => c.name === name)?.id;
        if (found) return found;
        return ((await client.api(`${user}/calendars`).post({ name })) as Calendar).id!;
      };

      /** Updates or deletes one instance of the series, found by its original start. */
      const changeInstance = async (masterId: string, change: InstanceChange): Promise<boolean> => {
        const at = Date.parse(change.originalStart);
        const moved = epochOf(change.patch?.start) ?? at;
        const from = new Date(Math.min(at, moved) - DAY_MS).toISOString();
        const to = new Date(Math.max(at, moved) + 2 * DAY_MS).toISOString();
        const instances = await allPages<Event>(client, await client.api(`${user}/events/${masterId}/instances`).query({ startDateTime: from, endDateTime: to }).select('id,originalStart').get());
        const instance = instances.find((i) => i.originalStart && Date.parse(i.originalStart) === at);
        if (!instance) return change.patch === null; // deleted by an earlier attempt
        if (change.patch) await client.api(`${user}/events/${instance.id}`).patch(change.patch);
        else await client.api(`${user}/events/${instance.id}`).delete();
        return true;
      };

      const placeContact = async (folder: string, item: DavItem): Promise<Placed> => {
        const mapped = vcardToContact(item.data, item.uid);
        if (!mapped.ok) return { refused: `not copied: ${mapped.reason}` };
        const path = `${user}/contactFolders/${folder}/contacts`;
        if (await one(path, item.uid)) return 'existing';
        await client.api(path).post(mapped.value.contact);
        return 'copied';
      };

      const placeEvent = async (calendar: string, item: DavItem, result: DavCopyResult): Promise<Placed> => {
        const mapped = icalToEvent(item.data, item.uid, target);
        if (!mapped.ok) return { refused: `not copied: ${mapped.reason}` };
        const { event, instances, extras, attendees } = mapped.value;
        const path = `${user}/calendars/${calendar}/events`;
        const found = await one(path, item.uid);
        const master = found ?? ((await client.api(path).post(event)) as Event);
        const missed: string[] = [];
        for (const change of instances) if (!(await changeInstance(master.id!, change))) missed.push(change.originalStart);
        for (const extra of extras) if (!(await one(path, extra.key))) await client.api(path).post(extra.event);
        if (!found && attendees.length) {
          result.attendees ??= { events: 0, attendees: 0, invited: Boolean(target.sendInvitations) };
          result.attendees.events += 1;
          result.attendees.attendees += attendees.length;
        }
        if (missed.length) return { refused: `copied, but the series has no occurrence at ${missed.join(', ')} to change as the source's RECURRENCE-ID says` };
        return found ? 'existing' : 'copied';
      };

      const pim: PimTarget = {
        // more items in hand than request slots: an item's next request is queued while others are answered
        concurrency: 2 * MAX_CONCURRENT,
        async open(collection) {
          const folder = await ensureFolder(collection);
          return {
            async place(item, result) {
              try {
                return collection.kind === 'addressbook' ? await placeContact(folder, item) : await placeEvent(folder, item, result);
              } catch (error) {
                const refused = refusal(error);
                if (refused) return refused;
                throw failure(error);
              }
            },
          };
        },
      };
      try {
        return await copyToTarget(source, address, pim, options);
      } catch (error) {
        throw failure(error);
      }
    },
  };
}
