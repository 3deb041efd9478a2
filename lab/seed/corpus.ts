/**
 * The real-world corpus (test/fixtures/pim-corpus: exports of Outlook, Apple,
 * Google, Lotus Notes, Evolution, Thunderbird… taken from calendar and vCard
 * libraries' test suites) loaded into a mailbox through the DAV server's HTTP
 * interface, so the server validates every item as it would a client's.
 * A file is split into one item per UID, as a client importing it does; an
 * item without a UID gets one derived from its text (clients add one too).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureCollection, type DavCollection } from '../../connectors/dav/collections';
import { createDavHttp } from '../../connectors/dav/http';
import type { DavEndpoint } from '../../connectors/dav/types';
import { itemUid } from '../../connectors/dav/uid';
import type { PimItem } from './pim';

export const CORPUS_DIR = join(__dirname, '..', '..', 'test', 'fixtures', 'pim-corpus');
export const CORPUS_COLLECTIONS = { calendar: 'corpus-calendar', addressbook: 'corpus-contacts' } as const;

export interface CorpusItem extends PimItem {
  /** the corpus file it came from, relative to the corpus folder */
  file: string;
}

export interface CollectionLoad {
  loaded: string[];
  /** the server's refusals: real-world data a strict server does not take */
  refused: Array<{ file: string; uid: string; answer: string }>;
  /** items whose UID an earlier file already brought (exports of the same event by two clients) */
  duplicates: Array<{ file: string; uid: string }>;
}

export interface CorpusLoad {
  calendar: CollectionLoad;
  addressbook: CollectionLoad;
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 24);

/** Lines with their folded continuations attached, so BEGIN/END are found on whole lines only. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  for (const line of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && lines.length > 0) lines[lines.length - 1] += `\r\n${line}`;
    else if (line !== '') lines.push(line);
  }
  return lines;
}

const crlf = (lines: string[]) => `${lines.join('\r\n')}\r\n`;
const begins = (line: string) => /^BEGIN:/i.exec(line) && line.slice(6).trim().toUpperCase();
const ends = (line: string) => /^END:/i.exec(line) && line.slice(4).trim().toUpperCase();

/** Each VCALENDAR's components grouped by UID, every group with the calendar's time zones. */
export function splitCalendar(text: string, file: string): CorpusItem[] {
  const byUid = new Map<string, { header: string[]; zones: string[][]; parts: string[][] }>();
  let header: string[] = [];
  let zones: string[][] = [];
  let parts: string[][] = [];
  let current: string[] | null = null;
  let depth = 0;
  const flush = () => {
    for (const part of parts) {
      const uid = itemUid(crlf(part)) ?? `corpus-${hash(crlf(part))}`;
      const withUid = itemUid(crlf(part)) ? part : [part[0]!, `UID:${uid}`, ...part.slice(1)];
      const group = byUid.get(uid) ?? { header, zones, parts: [] };
      group.parts.push(withUid);
      byUid.set(uid, group);
    }
  };
  for (const line of logicalLines(text)) {
    const begin = begins(line);
    const end = ends(line);
    if (begin) depth += 1;
    if (depth === 1 && begin === 'VCALENDAR') {
      header = [];
      zones = [];
      parts = [];
    } else if (depth === 1 && end === 'VCALENDAR') flush();
    else if (depth === 1) {
      // a stored calendar object carries no METHOD (RFC 4791, 4.1)
      if (!/^METHOD[:;]/i.test(line)) header.push(line);
    } else if (depth === 2 && begin) {
      current = [line];
      (begin === 'VTIMEZONE' ? zones : parts).push(current);
    } else current?.push(line);
    if (end) depth -= 1;
  }
  return [...byUid].map(([uid, group]) => ({
    uid,
    file,
    href: `${hash(uid)}.ics`,
    text: crlf(['BEGIN:VCALENDAR', ...group.header, ...group.zones.flat(), ...group.parts.flat(), 'END:VCALENDAR']),
  }));
}

/** Each top-level VCARD of a file. */
export function splitVcards(text: string, file: string): CorpusItem[] {
  const items: CorpusItem[] = [];
  let card: string[] = [];
  let depth = 0;
  for (const line of logicalLines(text)) {
    if (begins(line) === 'VCARD') depth += 1;
    if (depth > 0) card.push(line);
    if (ends(line) === 'VCARD' && --depth === 0) {
      const uid = itemUid(crlf(card)) ?? `corpus-${hash(crlf(card))}`;
      const versionAt = card.findIndex((l) => /^VERSION:/i.test(l));
      if (!itemUid(crlf(card))) card.splice(versionAt + 1, 0, `UID:${uid}`);
      items.push({ uid, file, href: `${hash(uid)}.vcf`, text: crlf(card) });
      card = [];
    }
  }
  return items;
}

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return filesUnder(path, ext);
      return name.endsWith(ext) ? [path] : [];
    });
}

export function corpusItems(kind: 'calendar' | 'addressbook'): CorpusItem[] {
  const split = kind === 'calendar' ? splitCalendar : splitVcards;
  return filesUnder(CORPUS_DIR, kind === 'calendar' ? '.ics' : '.vcf').flatMap((path) => split(readFileSync(path, 'utf8'), relative(CORPUS_DIR, path)));
}

/** PUTs `items` into `/<address>/<collection>/`; what the server refuses is returned, not thrown. */
export async function loadItems(endpoint: DavEndpoint, address: string, kind: 'calendar' | 'addressbook', name: string, items: CorpusItem[]): Promise<CollectionLoad> {
  const http = createDavHttp(endpoint);
  const collection: DavCollection = {
    kind,
    name,
    url: '',
    displayName: kind === 'calendar' ? 'Imported calendars' : 'Imported contacts',
    components: kind === 'calendar' ? ['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY'] : [],
  };
  const url = await ensureCollection(http, address, collection);
  const result: CollectionLoad = { loaded: [], refused: [], duplicates: [] };
  for (const item of items) {
    const outcome = await http.putNew(`${url}${item.href}`, item.text, kind === 'calendar' ? 'text/calendar; charset=utf-8' : 'text/vcard; charset=utf-8');
    if (outcome.kind === 'refused') result.refused.push({ file: item.file, uid: item.uid, answer: outcome.answer });
    else if (outcome.kind === 'taken') result.duplicates.push({ file: item.file, uid: item.uid });
    else result.loaded.push(item.uid);
  }
  return result;
}

export async function loadCorpus(endpoint: DavEndpoint, address: string): Promise<CorpusLoad> {
  return {
    calendar: await loadItems(endpoint, address, 'calendar', CORPUS_COLLECTIONS.calendar, corpusItems('calendar')),
    addressbook: await loadItems(endpoint, address, 'addressbook', CORPUS_COLLECTIONS.addressbook, corpusItems('addressbook')),
  };
}
