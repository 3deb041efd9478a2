/**
 * Builds RFC 5322 messages with the variety a real mailbox has: plain and
 * alternative bodies, attachments, ISO-8859-1 and Shift_JIS text, RFC 2047
 * headers. Output uses LF line ends, as Maildir stores them; IMAP serves them
 * with CRLF.
 */
import type { Rng } from './rng';
import { LATIN1_PHRASES, SHIFT_JIS_CLOSING, SHIFT_JIS_PHRASES, paragraphs, sentence, subject as makeSubject } from './text';

export type BodyKind = 'plain' | 'alternative' | 'latin1' | 'shiftjis';

export interface MessageSpec {
  from: { name: string; address: string };
  to: { name: string; address: string };
  date: Date;
  /** null: the message has no Message-ID header */
  messageId: string | null;
  kind: BodyKind;
  /** approximate total size; an attachment makes up the difference */
  size: number;
}

const rfc2047 = (text: string, charset = 'UTF-8', bytes?: Buffer) =>
  /^[\x20-\x7e]*$/.test(text) && !bytes ? text : `=?${charset}?B?${(bytes ?? Buffer.from(text, 'utf8')).toString('base64')}?=`;

const address = (p: { name: string; address: string }) => `${rfc2047(p.name)} <${p.address}>`;

function rfc2822Date(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

/** quoted-printable for 8-bit text (soft line breaks at 76) */
function quotedPrintable(bytes: Buffer): string {
  const lines: string[] = [];
  for (const line of bytes.toString('latin1').split('\n')) {
    let out = '';
    let width = 0;
    for (const ch of line) {
      const code = ch.charCodeAt(0);
      const token = code === 61 || code > 126 || (code < 32 && code !== 9) ? `=${code.toString(16).toUpperCase().padStart(2, '0')}` : ch;
      if (width + token.length > 75) {
        out += '=\n';
        width = 0;
      }
      out += token;
      width += token.length;
    }
    lines.push(out);
  }
  return lines.join('\n');
}

function base64Lines(bytes: Buffer): string {
  const b64 = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join('\n');
}

interface Part {
  headers: string[];
  body: string;
}

function textBody(rng: Rng, kind: BodyKind, bytes: number): { subject: string; subjectHeader: string; parts: Part[] } {
  switch (kind) {
    case 'latin1': {
      const phrase = rng.pick(LATIN1_PHRASES);
      const body = Buffer.from(`${phrase}\n\n${paragraphs(rng, bytes)}\n\nCordialement, ${phrase}\n`, 'latin1');
      const subjectBytes = Buffer.from(phrase, 'latin1');
      return {
        subject: phrase,
        subjectHeader: `=?ISO-8859-1?Q?${quotedPrintable(subjectBytes).replace(/ /g, '_').replace(/=\n/g, '')}?=`,
        parts: [{ headers: ['Content-Type: text/plain; charset=ISO-8859-1', 'Content-Transfer-Encoding: quoted-printable'], body: quotedPrintable(body) }],
      };
    }
    case 'shiftjis': {
      const phrase = rng.pick(SHIFT_JIS_PHRASES);
      const sjis = Buffer.from(phrase.hex, 'hex');
      const body = Buffer.concat([sjis, Buffer.from(`\n\n${paragraphs(rng, bytes)}\n\n`), SHIFT_JIS_CLOSING, Buffer.from('\n')]);
      return {
        subject: phrase.text,
        subjectHeader: rfc2047(phrase.text, 'Shift_JIS', sjis),
        parts: [{ headers: ['Content-Type: text/plain; charset=Shift_JIS', 'Content-Transfer-Encoding: base64'], body: base64Lines(body) }],
      };
    }
    case 'alternative': {
      const subject = makeSubject(rng);
      const text = paragraphs(rng, bytes);
      const html = `<html><body>${text
        .split('\n\n')
        .map((p) => `<p>${p.replace(/\n/g, ' ')}</p>`)
        .join('\n')}</body></html>`;
      const boundary = `alt-${rng.hex(16)}`;
      return {
        subject,
        subjectHeader: rfc2047(subject),
        parts: [
          {
            headers: [`Content-Type: multipart/alternative; boundary="${boundary}"`],
            body: [
              `--${boundary}`,
              'Content-Type: text/plain; charset=UTF-8',
              'Content-Transfer-Encoding: 8bit',
              '',
              text,
              `--${boundary}`,
              'Content-Type: text/html; charset=UTF-8',
              'Content-Transfer-Encoding: quoted-printable',
              '',
              quotedPrintable(Buffer.from(html, 'utf8')),
              `--${boundary}--`,
              '',
            ].join('\n'),
          },
        ],
      };
    }
    case 'plain': {
      const subject = rng.chance(0.15) ? `${makeSubject(rng)} – ${rng.pick(['Zürich', 'Málaga', 'Kraków', 'São Paulo'])}` : makeSubject(rng);
      return {
        subject,
        subjectHeader: rfc2047(subject),
        parts: [{ headers: ['Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: 8bit'], body: `${paragraphs(rng, bytes)}\n` }],
      };
    }
  }
}

const ATTACHMENTS = [
  { type: 'application/pdf', ext: 'pdf', name: 'Quarterly report' },
  { type: 'image/jpeg', ext: 'jpg', name: 'Hangar photo' },
  { type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', ext: 'xlsx', name: 'Inventory' },
  { type: 'application/zip', ext: 'zip', name: 'Prototype drawings' },
  { type: 'application/octet-stream', ext: 'bin', name: 'Firmware' },
];

function attachment(rng: Rng, rawBytes: number): Part {
  const kind = rng.pick(ATTACHMENTS);
  const filename = rng.chance(0.2) ? `Présentation ${rng.int(1, 99)}.${kind.ext}` : `${kind.name} ${rng.int(1, 999)}.${kind.ext}`;
  const encodedName = rfc2047(filename);
  return {
    headers: [
      `Content-Type: ${kind.type}; name="${encodedName}"`,
      `Content-Disposition: attachment; filename="${encodedName}"`,
      'Content-Transfer-Encoding: base64',
    ],
    body: base64Lines(rng.bytes(rawBytes)),
  };
}

const TEXT_ONLY_UP_TO = 24 * 1024;

/** A complete message; returns its bytes and the decoded subject. */
export function buildMessage(rng: Rng, spec: MessageSpec): { bytes: Buffer; subject: string } {
  // most mail is text only; only larger messages carry an attachment
  const textBytes = spec.size <= TEXT_ONLY_UP_TO ? spec.size : rng.int(400, 3000);
  const { subject, subjectHeader, parts } = textBody(rng, spec.kind, Math.max(200, textBytes - 600));
  const headers = [
    `Return-Path: <${spec.from.address}>`,
    `From: ${address(spec.from)}`,
    `To: ${address(spec.to)}`,
    `Subject: ${subjectHeader}`,
    `Date: ${rfc2822Date(spec.date)}`,
    ...(spec.messageId ? [`Message-ID: ${spec.messageId}`] : []),
    'MIME-Version: 1.0',
    'X-Mailer: mailferry-lab',
  ];
  const estimate = headers.join('\n').length + parts[0].body.length + 400;
  const attachmentRaw = Math.floor(((spec.size - estimate) * 3) / 4 / 1.013);
  let mime: Part;
  if (attachmentRaw > 256) {
    const boundary = `mix-${rng.hex(16)}`;
    const sub = [parts[0], attachment(rng, attachmentRaw)];
    mime = {
      headers: [`Content-Type: multipart/mixed; boundary="${boundary}"`],
      body: `${sub.map((p) => `--${boundary}\n${p.headers.join('\n')}\n\n${p.body}\n`).join('')}--${boundary}--\n`,
    };
  } else mime = parts[0];
  const text = `${[...headers, ...mime.headers].join('\n')}\n\n${mime.body}`;
  return { bytes: Buffer.from(text, spec.kind === 'latin1' ? 'latin1' : 'utf8'), subject };
}

/**
 * A broken message a migration tool must survive: a header line with no
 * colon, raw 8-bit bytes in a header, and a multipart whose boundary never
 * appears.
 */
export function malformedMessage(rng: Rng, spec: MessageSpec): Buffer {
  const lines = [
    `From: ${spec.from.address}`,
    `To: ${spec.to.address}`,
    `Subject: Broken ${sentence(rng, 2, 4).slice(0, -1)}`,
    `Date: ${rfc2822Date(spec.date)}`,
    ...(spec.messageId ? [`Message-ID: ${spec.messageId}`] : []),
    'This header line has no colon',
    'X-Raw-8bit: caf\xe9 cr\xe8me',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="never-used"',
    '',
    'The boundary above never appears, and this body just ends.',
    '--almost-a-boundary',
    '',
  ];
  return Buffer.from(lines.join('\n'), 'latin1');
}
