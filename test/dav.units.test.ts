/** UID extraction, the identity the DAV copy compares items by, and the streamed listing of a collection's members. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDavHttp } from '../connectors/dav/http';
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

/** A loopback server answering every request with `status` and `body`, sent in small chunks as a large answer arrives. */
async function answering(status: number, body: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((_request, response) => {
    response.writeHead(status, { 'content-type': 'application/xml' });
    for (let at = 0; at < body.length; at += 7) response.write(body.slice(at, at + 7));
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('DavHttp.members', () => {
  const listing = `<?xml version="1.0"?>
<D:multistatus xmlns:D="DAV:" xmlns:X="urn:example">
  <D:response><D:href>/u/calendar/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/><C:calendar xmlns:C="urn:ietf:params:xml:ns:caldav"/></D:resourcetype></D:prop></D:propstat></D:response>
  <D:response><D:href> /u/calendar/a%20b.ics </D:href><D:propstat><D:prop><D:resourcetype/></D:prop></D:propstat></D:response>
  <D:response><D:href><![CDATA[/u/calendar/c&d.ics]]></D:href><D:propstat><D:prop><D:resourcetype><X:collection/></D:resourcetype></D:prop></D:propstat></D:response>
</D:multistatus>`;

  it('keeps each response href, and whether it is a DAV collection, whatever the prefixes and chunks', async () => {
    const server = await answering(207, listing);
    try {
      expect(await createDavHttp({ url: server.url, user: 'u', password: 'p' }).members(`${server.url}u/calendar/`)).toEqual([
        { href: '/u/calendar/', collection: true },
        { href: '/u/calendar/a%20b.ics', collection: false },
        { href: '/u/calendar/c&d.ics', collection: false },
      ]);
    } finally {
      await server.close();
    }
  });

  it('names the collection when the listing is not XML, and yields nothing for a missing collection', async () => {
    const broken = await answering(207, listing.replace('</D:multistatus>', '</D:multi'));
    const missing = await answering(404, '');
    try {
      const error = await createDavHttp({ url: broken.url, user: 'u', password: 'p' })
        .members(`${broken.url}u/calendar/`)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'COPY_FAILED', message: expect.stringContaining(`${broken.url}u/calendar/`) });
      expect(await createDavHttp({ url: missing.url, user: 'u', password: 'p' }).members(`${missing.url}u/calendar/`)).toEqual([]);
    } finally {
      await broken.close();
      await missing.close();
    }
  });
});
