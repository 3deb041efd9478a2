/**
 * Active Directory's encodings: GUIDs in .NET byte order and RFC 4514 DN
 * escaping as AD accepts it (backslash escapes, never the quoted form).
 */

/** AD's 16 GUID bytes (Data1–Data3 little-endian) → `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` */
export function guidFromBytes(bytes: Buffer): string {
  if (bytes.length !== 16) throw new Error(`a GUID has 16 bytes, not ${bytes.length}`);
  const le = (start: number, end: number) => Buffer.from(bytes.subarray(start, end)).reverse().toString('hex');
  const hex = bytes.toString('hex');
  return `${le(0, 4)}-${le(4, 6)}-${le(6, 8)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function guidToBytes(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a GUID: "${guid}"`);
  const b = Buffer.from(hex, 'hex');
  const rev = (start: number, end: number) => Buffer.from(b.subarray(start, end)).reverse();
  return Buffer.concat([rev(0, 4), rev(4, 6), rev(6, 8), b.subarray(8)]);
}

/**
 * One RDN value, escaped: `, + " \ < > ; =` get a backslash, as do a leading
 * `#` or space and a trailing space; NUL and other control characters become
 * `\XX` hex pairs.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0')}`;
    else if (',+"\\<>;='.includes(ch)) out += `\\${ch}`;
    else if ((i === 0 && (ch === '#' || ch === ' ')) || (i === value.length - 1 && ch === ' ')) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}
