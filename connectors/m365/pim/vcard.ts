/**
 * vCard (2.1, 3.0, 4.0) to a Graph `contact`. ical.js parses 3.0 and 4.0;
 * what older clients write (2.1's bare parameters, QUOTED-PRINTABLE values in
 * a CHARSET other than UTF-8, grouped `item1.` properties) is first rewritten
 * as 3.0, so ical.js reads every card the same way. Fields Outlook has no
 * place for (a fax number, a fourth e-mail address) go into the notes, so
 * nothing the user typed is lost.
 */
import type { Contact, EmailAddress, PhysicalAddress } from '@microsoft/microsoft-graph-types';
import ICAL from 'ical.js';
import iconv from 'iconv-lite';
import { SOURCE_UID } from './extendedProperties';

export type Mapped<T> = { ok: true; value: T } | { ok: false; reason: string };

interface Line {
  name: string;
  params: Array<[string, string]>;
  value: string;
}

const PROPERTY_START =
  /^(?:[A-Za-z0-9-]+\.)?(?:BEGIN|END|VERSION|N|FN|NICKNAME|PHOTO|BDAY|ANNIVERSARY|ADR|LABEL|TEL|EMAIL|MAILER|TZ|GEO|TITLE|ROLE|LOGO|ORG|CATEGORIES|NOTE|PRODID|REV|SORT-STRING|SOUND|UID|URL|CLASS|KEY|IMPP|X-[A-Za-z0-9-]+)[;:]/i;

/** RFC 6350 / 2425 unfolding, plus 2.1's QUOTED-PRINTABLE soft line breaks (`=` at the end of a line). */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let qpOpen = false;
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r*\n/)) {
    const last = lines.length - 1;
    // a QUOTED-PRINTABLE value ended by a soft break and a blank line (Android): the next property is not its continuation
    if (qpOpen && last >= 0 && !PROPERTY_START.test(raw)) lines[last] = lines[last]!.slice(0, -1) + raw;
    else if (/^[ \t]/.test(raw) && last >= 0) lines[last] += raw.slice(1);
    else if (raw.trim() !== '') lines.push(raw);
    else continue;
    const line = lines[lines.length - 1]!;
    qpOpen = /ENCODING=QUOTED-PRINTABLE|;QUOTED-PRINTABLE[;:]/i.test(line.slice(0, line.indexOf(':') + 1 || undefined)) && line.endsWith('=');
  }
  return lines;
}

function tokenize(line: string): Line | null {
  const match = /^(?:[A-Za-z0-9-]+\.)?([A-Za-z0-9-]+)/.exec(line);
  if (!match) return null;
  const params: Array<[string, string]> = [];
  let i = match[0].length;
  while (line[i] === ';') {
    i += 1;
    let token = '';
    let quoted = false;
    while (i < line.length && (quoted || (line[i] !== ';' && line[i] !== ':'))) {
      if (line[i] === '"') quoted = !quoted;
      token += line[i];
      i += 1;
    }
    const eq = token.indexOf('=');
    // vCard 2.1 writes a bare TYPE value (`TEL;WORK;VOICE:`)
    if (eq < 0) params.push(['TYPE', token]);
    else params.push([token.slice(0, eq).toUpperCase(), token.slice(eq + 1).replace(/^"|"$/g, '')]);
  }
  if (line[i] !== ':') return null;
  return { name: match[1]!.toUpperCase(), params, value: line.slice(i + 1) };
}

function decodeQuotedPrintable(value: string, charset: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value[i] === '=' ? /^[0-9A-Fa-f]{2}/.exec(value.slice(i + 1, i + 3)) : null;
    if (hex) {
      bytes.push(parseInt(hex[0], 16));
      i += 2;
    } else if (value[i] === '=') continue;
    else bytes.push(...Buffer.from(value[i]!, 'utf8'));
  }
  return decodeText(Uint8Array.from(bytes), charset || 'utf-8');
}

/** iconv-lite, not TextDecoder: Node's TextDecoder reads Windows-1252 as Latin-1 (no “ ” €) */
function decodeText(bytes: Uint8Array, charset: string): string {
  // an unknown charset label: Windows-1252 is what such old exports nearly always are
  return iconv.decode(Buffer.from(bytes), iconv.encodingExists(charset) ? charset : 'windows-1252');
}

const STRUCTURED = new Set(['N', 'ADR', 'ORG']);

/** Escapes a decoded text value as 3.0 writes it; structured values keep their `;`. */
function escapeValue(name: string, text: string): string {
  const escaped = text.replace(/\\/g, '\\\\').replace(/\r?\n/g, '\\n');
  return STRUCTURED.has(name) ? escaped : escaped.replace(/;/g, '\\;');
}

const paramValue = (v: string) => (/[;:,"]/.test(v) ? `"${v.replace(/"/g, "'")}"` : v);

/** The card rewritten as vCard 3.0 (4.0 stays 4.0), without groups, encodings or charsets. */
function normalise(text: string): { text: string; version: string } {
  const out: string[] = [];
  let version = '3.0';
  for (const line of logicalLines(text)) {
    const parsed = tokenize(line);
    if (!parsed) continue;
    if (parsed.name === 'VERSION') {
      version = parsed.value.trim();
      out.push(`VERSION:${version === '4.0' ? '4.0' : '3.0'}`);
      continue;
    }
    const encoding = parsed.params.find(([k, v]) => k === 'ENCODING' || (k === 'TYPE' && /^QUOTED-PRINTABLE$/i.test(v)))?.[1] ?? '';
    const charset = parsed.params.find(([k]) => k === 'CHARSET')?.[1] ?? 'utf-8';
    let value = parsed.value;
    if (/QUOTED-PRINTABLE/i.test(encoding)) value = escapeValue(parsed.name, decodeQuotedPrintable(value, charset));
    else if (version !== '2.1') value = value.replace(/\\([^\\;,nN])/g, '$1');
    else if (!/^(B|BASE64)$/i.test(encoding)) value = escapeValue(parsed.name, value.replace(/\\;/g, '\u0000')).replace(/\u0000/g, '\\;');
    const params = parsed.params
      .filter(([k, v]) => k !== 'CHARSET' && !(k === 'ENCODING' && /QUOTED-PRINTABLE|8BIT|7BIT/i.test(v)) && !(k === 'TYPE' && /^QUOTED-PRINTABLE$/i.test(v)))
      .map(([k, v]) => (k === 'ENCODING' && /^BASE64$/i.test(v) ? ['ENCODING', 'b'] : [k, v]))
      .map(([k, v]) => `;${k}=${paramValue(v!)}`)
      .join('');
    out.push(`${parsed.name}${params}:${value}`);
  }
  return { text: `${out.join('\r\n')}\r\n`, version };
}

const texts = (value: unknown): string[] => (Array.isArray(value) ? value.flatMap(texts) : value === null || value === undefined ? [] : [String(value)]);
const joined = (value: unknown, separator = ' ') => texts(value).map((s) => s.trim()).filter(Boolean).join(separator);

function typesOf(prop: ICAL.Property): string[] {
  return texts(prop.getParameter('type'))
    .flatMap((t) => t.split(','))
    .map((t) => t.trim().toLowerCase());
}

/** vCard 4.0 DATE / DATE-TIME / year-less `--MMDD` to Graph's DateTimeOffset; Outlook stores a birthday without a year in 1604. */
function birthday(raw: string): string | null {
  const compact = raw.replace(/-/g, '').replace(/T.*$/, '');
  const full = /^(\d{4})(\d{2})(\d{2})$/.exec(compact);
  if (full) return `${full[1]}-${full[2]}-${full[3]}T00:00:00Z`;
  const yearless = /^(\d{2})(\d{2})$/.exec(compact);
  return yearless ? `1604-${yearless[1]}-${yearless[2]}T00:00:00Z` : null;
}

function address(value: unknown): PhysicalAddress {
  const [pobox, extended, street, city, state, postalCode, countryOrRegion] = (Array.isArray(value) ? value : [value]).map((p) => joined(p, ', '));
  const lines = [pobox ? `PO Box ${pobox}` : '', extended, street].filter(Boolean);
  const result: PhysicalAddress = {};
  if (lines.length) result.street = lines.join('\n');
  if (city) result.city = city;
  if (state) result.state = state;
  if (postalCode) result.postalCode = postalCode;
  if (countryOrRegion) result.countryOrRegion = countryOrRegion;
  return result;
}

const IM_PROPERTIES = ['IMPP', 'X-MS-IMADDRESS', 'X-AIM', 'X-JABBER', 'X-ICQ', 'X-MSN', 'X-YAHOO', 'X-SKYPE', 'X-GOOGLE-TALK', 'X-GADUGADU', 'X-QQ'];

/** Exchange keeps this many of each; more go into the notes */
const LIMITS = { emails: 3, businessPhones: 2, homePhones: 2, imAddresses: 3 };

export interface MappedContact {
  uid: string;
  summary: string;
  contact: Contact;
}

export function vcardToContact(text: string, uid: string): Mapped<MappedContact> {
  let card: ICAL.Component;
  let version: string;
  try {
    const normalised = normalise(text);
    version = normalised.version;
    const parsed = ICAL.parse(normalised.text);
    card = new ICAL.Component(Array.isArray(parsed[0]) ? parsed[0] : parsed);
  } catch (error) {
    return { ok: false, reason: `the vCard cannot be parsed: ${(error as Error).message}` };
  }
  if (card.name !== 'vcard') return { ok: false, reason: `not a vCard but a ${card.name.toUpperCase()}` };
  if (!['2.1', '3.0', '4.0'].includes(version)) return { ok: false, reason: `vCard version ${version} is not 2.1, 3.0 or 4.0` };

  const contact: Contact = {};
  const overflow: string[] = [];
  const first = (name: string) => card.getFirstProperty(name.toLowerCase());
  const all = (name: string) => card.getAllProperties(name.toLowerCase());
  // ical.js leaves the values of X- properties escaped
  const firstText = (name: string) => {
    const prop = first(name);
    const text = prop ? joined(prop.getValues(), ', ') : '';
    return name.startsWith('X-') ? text.replace(/\\([nN])/g, '\n').replace(/\\(.)/g, '$1') : text;
  };

  const n = first('N')?.getFirstValue();
  if (n !== undefined && n !== null) {
    const [surname, givenName, middleName, title, generation] = (Array.isArray(n) ? n : [n]).map((p) => joined(p));
    if (surname) contact.surname = surname;
    if (givenName) contact.givenName = givenName;
    if (middleName) contact.middleName = middleName;
    if (title) contact.title = title;
    if (generation) contact.generation = generation;
  }
  const fn = firstText('FN');
  const displayName = fn || [contact.title, contact.givenName, contact.middleName, contact.surname, contact.generation].filter(Boolean).join(' ');
  if (displayName) contact.displayName = displayName;
  const nickName = firstText('NICKNAME');
  if (nickName) contact.nickName = nickName;

  const emails = all('EMAIL')
    .map((prop) => ({ address: joined(prop.getFirstValue()).replace(/^mailto:/i, ''), preferred: typesOf(prop).includes('pref') || prop.getParameter('pref') !== undefined }))
    .filter((e) => e.address)
    .sort((a, b) => Number(b.preferred) - Number(a.preferred));
  const emailAddresses: EmailAddress[] = emails.slice(0, LIMITS.emails).map((e) => ({ address: e.address, name: displayName || e.address }));
  if (emailAddresses.length) contact.emailAddresses = emailAddresses;
  for (const extra of emails.slice(LIMITS.emails)) overflow.push(`E-mail: ${extra.address}`);

  const businessPhones: string[] = [];
  const homePhones: string[] = [];
  for (const prop of all('TEL')) {
    const number = joined(prop.getFirstValue()).replace(/^tel:/i, '');
    if (!number) continue;
    const types = typesOf(prop);
    const label = types.filter((t) => t !== 'voice' && t !== 'pref').join(', ');
    if (types.some((t) => ['fax', 'pager', 'car', 'isdn', 'video', 'modem', 'bbs', 'textphone', 'msg'].includes(t))) overflow.push(`Phone (${label}): ${number}`);
    else if (types.includes('cell') && !contact.mobilePhone) contact.mobilePhone = number;
    else if (types.includes('home') && homePhones.length < LIMITS.homePhones) homePhones.push(number);
    else if (!types.includes('home') && !types.includes('cell') && businessPhones.length < LIMITS.businessPhones) businessPhones.push(number);
    else overflow.push(`Phone${label ? ` (${label})` : ''}: ${number}`);
  }
  if (businessPhones.length) contact.businessPhones = businessPhones;
  if (homePhones.length) contact.homePhones = homePhones;

  for (const prop of all('ADR')) {
    const types = typesOf(prop);
    const value = address(prop.getFirstValue());
    if (Object.keys(value).length === 0) continue;
    const slot = types.includes('home') ? 'homeAddress' : types.includes('work') ? 'businessAddress' : 'otherAddress';
    if (!contact[slot]) contact[slot] = value;
    else overflow.push(`Address (${types.join(', ') || 'other'}): ${Object.values(value).join(', ').replace(/\n/g, ', ')}`);
  }

  const org = first('ORG')?.getFirstValue();
  if (org !== undefined && org !== null) {
    const [companyName, ...departments] = (Array.isArray(org) ? org : [org]).map((p) => joined(p));
    if (companyName) contact.companyName = companyName;
    const department = departments.filter(Boolean).join(', ');
    if (department) contact.department = department;
  }
  const simple: Array<[keyof Contact, string[]]> = [
    ['jobTitle', ['TITLE']],
    ['profession', ['ROLE']],
    ['spouseName', ['X-MS-SPOUSE', 'X-SPOUSE', 'X-EVOLUTION-SPOUSE']],
    ['assistantName', ['X-MS-ASSISTANT', 'X-ASSISTANT', 'X-EVOLUTION-ASSISTANT']],
    ['manager', ['X-MS-MANAGER', 'X-MANAGER', 'X-EVOLUTION-MANAGER']],
    ['yomiGivenName', ['X-PHONETIC-FIRST-NAME']],
    ['yomiSurname', ['X-PHONETIC-LAST-NAME']],
    ['yomiCompanyName', ['X-PHONETIC-ORG']],
    ['fileAs', ['X-EVOLUTION-FILE-AS']],
  ];
  for (const [field, names] of simple) {
    const value = names.map(firstText).find(Boolean);
    if (value) (contact as Record<string, unknown>)[field] = value;
  }
  const urls = all('URL').map((p) => joined(p.getFirstValue())).filter(Boolean);
  if (urls[0]) contact.businessHomePage = urls[0];
  for (const url of urls.slice(1)) overflow.push(`Web page: ${url}`);

  const im = IM_PROPERTIES.flatMap((name) => all(name).map((p) => joined(p.getFirstValue()))).filter(Boolean);
  if (im.length) contact.imAddresses = im.slice(0, LIMITS.imAddresses);
  for (const extra of im.slice(LIMITS.imAddresses)) overflow.push(`IM: ${extra}`);

  const categories = all('CATEGORIES').flatMap((p) => texts(p.getValues())).map((c) => c.trim()).filter(Boolean);
  if (categories.length) contact.categories = [...new Set(categories)];

  const bday = first('BDAY');
  if (bday) {
    const raw = String(bday.getFirstValue() ?? '');
    const value = birthday(raw);
    if (value) contact.birthday = value;
    else overflow.push(`Birthday: ${raw}`);
  }
  const anniversary = ['ANNIVERSARY', 'X-MS-ANNIVERSARY', 'X-ANNIVERSARY', 'X-EVOLUTION-ANNIVERSARY'].map(firstText).find(Boolean);
  // contact v1.0 has no anniversary field
  if (anniversary) overflow.push(`Anniversary: ${anniversary}`);

  for (const extra of all('ORG').slice(1)) overflow.push(`Organisation: ${joined(extra.getFirstValue(), ', ')}`);
  // a contact's photo is a separate Graph resource (contacts/{id}/photo), which this copy does not write
  if (all('PHOTO').length) overflow.push('Photo: the source card has a photo; it was not copied');
  const notes = all('NOTE').map((p) => joined(p.getValues(), ', ')).filter(Boolean);
  const personalNotes = [...notes, ...(overflow.length ? [['More from the source address book:', ...overflow].join('\n')] : [])].join('\n\n');
  if (personalNotes) contact.personalNotes = personalNotes;

  if (!contact.displayName && !contact.emailAddresses && !contact.companyName && !contact.mobilePhone && !contact.businessPhones && !contact.homePhones) {
    return { ok: false, reason: 'the vCard has no name, e-mail address, organisation or phone number: nothing a contact could show' };
  }
  contact.singleValueExtendedProperties = [{ id: SOURCE_UID, value: uid }];
  return { ok: true, value: { uid, summary: contact.displayName ?? contact.emailAddresses?.[0]?.address ?? uid, contact } };
}
