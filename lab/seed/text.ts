/** Words, names and phrases the seeded mail, contacts and events are made of. */
import type { Rng } from './rng';

const WORDS = (
  'the quarterly report shipment order invoice meeting schedule budget forecast review draft contract supplier ' +
  'warehouse inventory model aircraft glider kit catalogue pricing customer feedback launch campaign prototype ' +
  'wing propeller battery charger assembly manual safety test flight weekend hangar team agenda minutes action ' +
  'item follow up please attached find below regarding update status approval signature deadline friday monday ' +
  'project plan risk delay freight carrier customs partner distributor retail store online promotion discount'
).split(' ');

export const FIRST_NAMES = ['Pilar', 'Toby', 'Ian', 'Anna', 'Marcus', 'Lucía', 'Jürgen', 'Zoë', 'Hiro', 'Amélie', 'Noah', 'Chen', 'Olga', 'Kwame', 'Ines', 'Ravi'];
export const LAST_NAMES = ['Pinilla', 'Nixon', 'Tien', 'Bell', 'Kim', 'García', 'Müller', 'O’Brien', 'Tanaka', 'Lefèvre', 'Smith', 'Wang', 'Petrova', 'Mensah', 'Sousa', 'Patel'];
export const COMPANIES = ['Tailspin Toys', 'Contoso Ltd', 'Fabrikam Inc', 'Northwind Traders', 'Wingtip Toys', 'Adventure Works'];
export const EXTERNAL_DOMAINS = ['contoso.test', 'fabrikam.test', 'northwind.test', 'wingtiptoys.test'];

/** Latin-1 representable phrases (the ISO-8859-1 messages) */
export const LATIN1_PHRASES = ['Réunion de café à l’hôtel', 'Señales del año pasado', 'Größere Bestellung für März', 'Ação necessária até sexta'].map((s) =>
  s.replace('’', "'"),
);

/** Japanese phrases and their Shift_JIS bytes (Node has no Shift_JIS encoder) */
export const SHIFT_JIS_PHRASES: { text: string; hex: string }[] = [
  { text: '会議の議事録', hex: '89ef8b6382cc8b638e96985e' },
  { text: '来週の出張について', hex: '97888f5482cc8f6f92a382c982c282a282c4' },
  { text: '見積書を送付します', hex: '8ca990cf8f9182f09197957482b582dc82b7' },
  { text: '東京オフィスの予定', hex: '938c8b9e834983748342835882cc975c92e8' },
];
export const SHIFT_JIS_CLOSING = Buffer.from('82e682eb82b582ad82a88ae882a282a282bd82b582dc82b78142', 'hex');

export function sentence(rng: Rng, min = 6, max = 16): string {
  const n = rng.int(min, max);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(rng.pick(WORDS));
  const s = words.join(' ');
  return `${s[0].toUpperCase()}${s.slice(1)}.`;
}

export function subject(rng: Rng): string {
  const s = sentence(rng, 3, 7).slice(0, -1);
  return rng.chance(0.2) ? `RE: ${s}` : rng.chance(0.1) ? `FW: ${s}` : s;
}

/** wrapped paragraphs of about `bytes` characters */
export function paragraphs(rng: Rng, bytes: number): string {
  const out: string[] = [];
  let size = 0;
  while (size < bytes) {
    const para: string[] = [];
    for (let i = rng.int(2, 5); i > 0; i--) para.push(sentence(rng));
    const text = wrap(para.join(' '));
    out.push(text);
    size += text.length + 2;
  }
  return out.join('\n\n');
}

function wrap(text: string, width = 72): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

export function personName(rng: Rng): { first: string; last: string } {
  return { first: rng.pick(FIRST_NAMES), last: rng.pick(LAST_NAMES) };
}

/** ASCII-only, lower-case mailbox part for a name */
export function asciiLocal(first: string, last: string): string {
  const fold = (s: string) => s.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase();
  return `${fold(first)}.${fold(last)}`;
}
