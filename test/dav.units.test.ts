/** UID extraction, the identity the DAV copy compares items by. */
import { itemUid } from '../connectors/dav/uid';

describe('itemUid', () => {
  it('reads a vCard UID', () => {
    expect(itemUid('BEGIN:VCARD\r\nVERSION:3.0\r\nUID:contact-1@x\r\nFN:A\r\nEND:VCARD\r\n')).toBe('contact-1@x');
  });

  it('unfolds a folded UID and ignores parameters', () => {
    expect(itemUid('BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID;X-P=1:abc\r\n def\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n')).toBe('abcdef');
  });

  it('skips time zones and takes the event UID, with LF line ends too', () => {
    const ics = ['BEGIN:VCALENDAR', 'BEGIN:VTIMEZONE', 'UID:not-this', 'TZID:Europe/Paris', 'END:VTIMEZONE', 'BEGIN:VEVENT', 'uid:event-7', 'END:VEVENT', 'END:VCALENDAR'].join('\n');
    expect(itemUid(ics)).toBe('event-7');
  });

  it('does not take a property merely starting with UID', () => {
    expect(itemUid('BEGIN:VCARD\r\nUIDX:no\r\nEND:VCARD')).toBeNull();
  });
});
