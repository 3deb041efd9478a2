/**
 * Plans one mailbox: which folder, date, flags and size each message gets,
 * with the edge cases a migration must handle placed in INBOX. A plan is
 * cheap; message bytes are built only when written.
 */
import { buildMessage, BodyKind, malformedMessage, MessageSpec } from './mime';
import { Keyword, MaildirMessage, SystemFlag } from './maildir';
import type { Rng } from './rng';
import { EXTERNAL_DOMAINS, asciiLocal, personName } from './text';

/** "Archive" has no messages of its own: an empty parent folder is an edge case too */
export const FOLDERS = ['INBOX', 'Sent Items', 'Deleted Items', 'Archive', 'Archive/2019', 'Archive/2020', 'Réunions'];
const WEIGHTS: [string, number][] = [
  ['INBOX', 0.38],
  ['Sent Items', 0.2],
  ['Deleted Items', 0.05],
  ['Archive/2019', 0.15],
  ['Archive/2020', 0.15],
  ['Réunions', 0.07],
];

export type SizeModel = 'log' | 'heavy';
type Special = 'malformed' | 'no-message-id' | 'shared-id-a' | 'shared-id-b' | 'duplicate';

/** the edge cases, in INBOX, when a mailbox has at least this many messages */
export const SPECIALS_FROM = 12;
const SPECIALS: Special[] = ['malformed', 'no-message-id', 'shared-id-a', 'shared-id-b', 'duplicate', 'duplicate'];

interface Planned {
  folder: string;
  date: Date;
  flags: SystemFlag[];
  keywords: Keyword[];
  size: number;
  kind: BodyKind;
  special: Special | null;
}

const MB = 1024 * 1024;
const YEAR_MS = 365.25 * 24 * 3600 * 1000;

function dateFor(rng: Rng, folder: string): Date {
  const year = folder === 'Archive/2019' ? 2019 : folder === 'Archive/2020' ? 2020 : null;
  const start = Date.UTC(year ?? 2021, 0, 1);
  const span = year ? YEAR_MS - 86400000 : Date.UTC(2026, 10, 1) - start;
  return new Date(start + Math.floor(rng.next() * (span / 1000)) * 1000);
}

function pickFolder(rng: Rng): string {
  let r = rng.next();
  for (const [folder, weight] of WEIGHTS) {
    if ((r -= weight) < 0) return folder;
  }
  return 'INBOX';
}

function sizeFor(rng: Rng, model: SizeModel): number {
  // "heavy" adds a band of 100–200 KB messages: about 50 KB on average (≈100 MB per 2,000)
  if (model === 'heavy' && rng.chance(0.1)) return rng.int(100 * 1024, 200 * 1024);
  return rng.logUniform(1024, 200 * 1024);
}

function flagsFor(rng: Rng, folder: string): { flags: SystemFlag[]; keywords: Keyword[] } {
  const flags: SystemFlag[] = [];
  if (folder === 'Sent Items' || rng.chance(0.7)) flags.push('\\Seen');
  if (rng.chance(0.05)) flags.push('\\Flagged');
  if (folder !== 'Sent Items' && rng.chance(0.1)) flags.push('\\Answered');
  return { flags, keywords: rng.chance(0.05) ? ['$Project'] : [] };
}

function kindFor(rng: Rng): BodyKind {
  const r = rng.next();
  return r < 0.45 ? 'plain' : r < 0.8 ? 'alternative' : r < 0.9 ? 'latin1' : 'shiftjis';
}

export interface MailboxPlan {
  count: number;
  build(index: number): MaildirMessage;
}

export function planMailbox(
  rng: Rng,
  owner: { address: string; name: string },
  options: { messages: number; largeMessages: number; largeMessageMb: [number, number]; sizeModel: SizeModel },
): MailboxPlan {
  const planRng = rng.derive('plan');
  const specials = options.messages >= SPECIALS_FROM ? SPECIALS : [];
  const plan: Planned[] = [];
  for (let i = 0; i < options.messages; i++) {
    const special = specials[i] ?? null;
    const folder = special ? 'INBOX' : pickFolder(planRng);
    const large = !special && i - specials.length < options.largeMessages;
    plan.push({
      folder,
      date: dateFor(planRng, folder),
      ...flagsFor(planRng, folder),
      size: large ? planRng.int(options.largeMessageMb[0] * MB, options.largeMessageMb[1] * MB) : sizeFor(planRng, options.sizeModel),
      kind: kindFor(planRng),
      special,
    });
  }
  // the duplicate pair: same bytes, same date, two files
  const firstDuplicate = plan.findIndex((p) => p.special === 'duplicate');
  const sharedId = `<shared-${rng.hex(16)}@${owner.address.split('@')[1]}>`;

  const build = (index: number): MaildirMessage => {
    const p = plan[index];
    const source = p.special === 'duplicate' ? firstDuplicate : index;
    const planned = plan[source];
    const msgRng = rng.derive(`message/${source}`);
    const other = personName(msgRng);
    const otherAddress = { name: `${other.first} ${other.last}`, address: `${asciiLocal(other.first, other.last)}@${msgRng.pick(EXTERNAL_DOMAINS)}` };
    const sent = planned.folder === 'Sent Items';
    const spec: MessageSpec = {
      from: sent ? owner : otherAddress,
      to: sent ? otherAddress : owner,
      date: new Date(planned.date.getTime() - msgRng.int(5, 600) * 1000),
      messageId:
        planned.special === 'no-message-id'
          ? null
          : planned.special === 'shared-id-a' || planned.special === 'shared-id-b'
            ? sharedId
            : `<${msgRng.hex(24)}@${sent ? owner.address.split('@')[1] : otherAddress.address.split('@')[1]}>`,
      kind: planned.kind,
      size: planned.size,
    };
    const bytes = planned.special === 'malformed' ? malformedMessage(msgRng, spec) : buildMessage(msgRng, spec).bytes;
    return { folder: p.folder, bytes, internalDate: planned.date, flags: planned.flags, keywords: planned.keywords };
  };
  return { count: plan.length, build };
}
