/**
 * The vCard → contact and iCalendar → event mappings against the real-world
 * corpus (test/fixtures/pim-corpus): every item maps or is refused with a
 * reason; chosen fields are checked against what the source says; and every
 * recurring event's Graph pattern, expanded by the stand-in's independent
 * reading of Graph's pattern types, gives the same occurrences as ical.js
 * expanding the source RRULE.
 */
import ICAL from 'ical.js';
import { icalToEvent, type MappedEvent } from '../connectors/m365/pim/events';
import { ATTENDEES, SOURCE_UID, uidFilter } from '../connectors/m365/pim/extendedProperties';
import { resolveTzid, wallDateTime } from '../connectors/m365/pim/timezones';
import { vcardToContact, type MappedContact } from '../connectors/m365/pim/vcard';
import { GraphChecker } from '../lab/graph/check';
import { loadCsdl } from '../lab/graph/csdl';
import { occurrences } from '../lab/graph/recurrence';
import { corpusItems } from '../lab/seed/corpus';

const contacts = corpusItems('addressbook').map((item) => ({ item, mapped: vcardToContact(item.text, item.uid) }));
const events = corpusItems('calendar').map((item) => ({ item, mapped: icalToEvent(item.text, item.uid) }));

const contactOf = (file: string, pick: (c: MappedContact) => boolean = () => true) => {
  const found = contacts.find((c) => c.item.file === file && c.mapped.ok && pick(c.mapped.value));
  if (!found?.mapped.ok) throw new Error(`no mapped contact from ${file}`);
  return found.mapped.value.contact;
};
const eventOf = (file: string): MappedEvent => {
  const found = events.find((e) => e.item.file === file && e.mapped.ok);
  if (!found?.mapped.ok) throw new Error(`no mapped event from ${file}`);
  return found.mapped.value;
};

describe('the corpus', () => {
  it('maps every item or refuses it with a reason', () => {
    const refused = [...contacts, ...events].filter((x) => !x.mapped.ok);
    console.log(
      `pim mapping: ${contacts.filter((c) => c.mapped.ok).length}/${contacts.length} contacts and ${events.filter((e) => e.mapped.ok).length}/${events.length} calendar items mapped; refused: ${JSON.stringify(refused.map((r) => `${r.item.file}: ${r.mapped.ok ? '' : r.mapped.reason}`))}`,
    );
    for (const { mapped } of [...contacts, ...events]) if (!mapped.ok) expect(mapped.reason.length).toBeGreaterThan(10);
    // every contact of the corpus has something to show
    expect(contacts.every((c) => c.mapped.ok)).toBe(true);
    expect(events.filter((e) => e.mapped.ok).length).toBeGreaterThanOrEqual(15);
    for (const { item, mapped } of [...contacts, ...events]) {
      if (!mapped.ok) continue;
      const body = 'contact' in mapped.value ? mapped.value.contact : mapped.value.event;
      expect(body.singleValueExtendedProperties?.[0]).toEqual({ id: SOURCE_UID, value: item.uid });
    }
  });
});

describe('the CSDL', () => {
  it('has every property, type and enum value of every mapped contact, event and instance change', () => {
    const checker = new GraphChecker(loadCsdl());
    const problems: string[] = [];
    let checked = 0;
    const check = (type: string, value: unknown, where: string) => {
      problems.push(...checker.checkValue({ type: `microsoft.graph.${type}`, collection: false }, value, where));
      checked += 1;
    };
    for (const { item, mapped } of contacts) if (mapped.ok) check('contact', mapped.value.contact, item.file);
    for (const invite of [false, true]) {
      for (const { item } of events) {
        const mapped = icalToEvent(item.text, item.uid, { sendInvitations: invite });
        if (!mapped.ok) continue;
        check('event', mapped.value.event, item.file);
        for (const change of mapped.value.instances) if (change.patch) check('event', change.patch, `${item.file} instance`);
        for (const extra of mapped.value.extras) check('event', extra.event, `${item.file} RDATE`);
      }
    }
    console.log(`csdl: ${checked} mapped bodies checked against Graph v1.0`);
    expect(problems).toEqual([]);
    // the check can fail: a property Graph lacks
    expect(checker.checkValue({ type: 'microsoft.graph.contact', collection: false }, { faxNumber: '1' }, 'body')).toHaveLength(1);
  });
});

describe('vCard to contact', () => {
  it('reads Outlook 2003 (vCard 2.1): bare types, QUOTED-PRINTABLE notes, names, phones, address', () => {
    const c = contactOf('ez-vcard/outlook-2003.vcf');
    expect(c).toMatchObject({
      givenName: 'John',
      surname: 'Doe',
      title: 'Mr.',
      generation: 'III',
      displayName: 'John Doe III',
      nickName: 'Joey',
      companyName: 'Company, The',
      department: 'TheDepartment',
      jobTitle: 'The Job Title',
      profession: 'TheProfession',
      businessPhones: ['BusinessPhone'],
      homePhones: ['HomePhone'],
      mobilePhone: 'MobilePhone',
      businessAddress: { street: 'TheOffice\n123 Main St', city: 'Austin', state: 'TX', postalCode: '12345', countryOrRegion: 'United States of America' },
      businessHomePage: 'http://web-page-address.com',
      birthday: '1980-03-21T00:00:00Z',
      emailAddresses: [{ address: 'jdoe@hotmail.com', name: 'John Doe III' }],
    });
    expect(c.personalNotes).toMatch(/^This is the note field!!\nSecond line\n\nThird line is empty\n/);
    // the fax has no Graph field: kept in the notes
    expect(c.personalNotes).toContain('Phone (work, fax): BusinessFaxPhone');
  });

  it('decodes UTF-8 QUOTED-PRINTABLE split by soft breaks and a blank line (Android)', () => {
    const c = contactOf('ez-vcard/John_Doe_ANDROID.vcf', (m) => m.contact.emailAddresses?.[0]?.address === 'henry@company.com');
    expect(c.displayName).toBe('ÑÑÑÑ');
    expect(c.companyName).toBe('Ñ'.repeat(44));
  });

  it('decodes QUOTED-PRINTABLE in ISO-8859-1 and Windows-1252, and bare 8-bit-free 2.1 values', () => {
    const card = [
      'BEGIN:VCARD',
      'VERSION:2.1',
      'N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FCrgen',
      'FN;CHARSET=ISO-8859-1;QUOTED-PRINTABLE:J=FCrgen M=FCller',
      'NOTE;CHARSET=windows-1252;ENCODING=QUOTED-PRINTABLE:=93quoted=94 =80 10',
      'TEL;PREF;CELL:+49 170 1',
      'END:VCARD',
      '',
    ].join('\r\n');
    const mapped = vcardToContact(card, 'u-1');
    expect(mapped.ok && mapped.value.contact).toMatchObject({ surname: 'Müller', givenName: 'Jürgen', displayName: 'Jürgen Müller', personalNotes: '“quoted” € 10', mobilePhone: '+49 170 1' });
  });

  it('reads vCard 4.0 (RFC 6350): a year-less birthday in Outlook’s 1604, the anniversary into the notes', () => {
    const c = contactOf('ez-vcard/rfc6350-example.vcf');
    expect(c).toMatchObject({ givenName: 'Simon', surname: 'Perreault', birthday: '1604-02-03T00:00:00Z', companyName: 'Viagenie' });
    expect(c.personalNotes).toContain('Anniversary: 2009-08-08');
  });

  it('keeps three e-mail addresses (Exchange’s limit) and puts the rest into the notes', () => {
    const card = ['BEGIN:VCARD', 'VERSION:3.0', 'FN:Many', ...[1, 2, 3, 4].map((n) => `EMAIL;TYPE=INTERNET:m${n}@x.test`), 'END:VCARD', ''].join('\r\n');
    const mapped = vcardToContact(card, 'u-2');
    expect(mapped.ok && mapped.value.contact.emailAddresses?.map((e) => e.address)).toEqual(['m1@x.test', 'm2@x.test', 'm3@x.test']);
    expect(mapped.ok && mapped.value.contact.personalNotes).toContain('E-mail: m4@x.test');
  });

  it('refuses a card with nothing to show, and text that is not a vCard', () => {
    expect(vcardToContact('BEGIN:VCARD\r\nVERSION:3.0\r\nREV:2020-01-01\r\nEND:VCARD\r\n', 'u')).toMatchObject({ ok: false, reason: expect.stringMatching(/no name/) });
    expect(vcardToContact('BEGIN:VCARD\r\nVERSION:3.0\r\nFN;X=:', 'u')).toMatchObject({ ok: false });
  });
});

describe('iCalendar to event', () => {
  it('names zones the Windows way: IANA, Windows, vendor-prefixed, and by VTIMEZONE offsets', () => {
    expect(eventOf('icalendar/timezone_same_start.ics').event.start?.timeZone).toBe('Pacific Standard Time');
    expect(eventOf('biweekly/outlook-2010.ics').event.start).toEqual({ dateTime: '2013-06-10T12:00:00', timeZone: 'Eastern Standard Time' });
    expect(eventOf('icalendar/america_new_york.ics').event.start?.timeZone).toBe('Eastern Standard Time');
    // TZID "GMT +0100 (Standard) / GMT +0200 (Daylight)": Central European rules
    expect(eventOf('icalendar/issue_165_missing_event.ics').event.start?.timeZone).toBe('W. Europe Standard Time');
    expect(resolveTzid('Mars/Olympus', null, 2026)).toMatchObject({ windows: null, reason: expect.stringMatching(/neither an IANA nor a Windows name/) });
  });

  it('maps an all-day event to midnight-to-midnight with isAllDay', () => {
    const { event } = eventOf('ical.js/only_dtstart_date.ics');
    expect(event).toMatchObject({ isAllDay: true, start: { dateTime: '2012-06-30T00:00:00' }, end: { dateTime: '2012-07-01T00:00:00' } });
  });

  it('creates a meeting without its attendees, listing them in the body and an extended property', () => {
    const mapped = eventOf('biweekly/outlook-2010.ics');
    expect(mapped.event.attendees).toBeUndefined();
    expect(mapped.attendees.length).toBe(2);
    for (const a of mapped.attendees) expect(mapped.event.body?.content).toContain(a.email);
    const kept = mapped.event.singleValueExtendedProperties?.find((p) => p.id === ATTENDEES);
    expect(JSON.parse(kept?.value ?? '[]')).toEqual(mapped.attendees);
    const invited = icalToEvent(corpusItems('calendar').find((i) => i.file === 'biweekly/outlook-2010.ics')!.text, 'x', { sendInvitations: true });
    expect(invited.ok && invited.value.event.attendees?.map((a) => a.emailAddress?.address)).toEqual(mapped.attendees.map((a) => a.email));
  });

  it('maps overrides and EXDATEs to instance changes, master first', () => {
    const mapped = eventOf('ical.js/recur_instances.ics');
    expect(mapped.event.recurrence?.pattern).toMatchObject({ type: 'relativeMonthly', daysOfWeek: ['tuesday'], index: 'first' });
    expect(mapped.instances.length).toBeGreaterThanOrEqual(1);
    for (const change of mapped.instances) expect(change.originalStart).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const exdate = eventOf('ical.js/rdate_exdate.ics');
    expect(exdate.instances).toContainEqual({ originalStart: '2024-06-11T03:00:00Z', patch: null });
  });

  it('refuses what Graph cannot hold, saying why', () => {
    const reasons = events.flatMap((e) => (e.mapped.ok ? [] : [e.mapped.reason]));
    expect(reasons).toContainEqual(expect.stringMatching(/VFREEBUSY: Graph events hold VEVENTs only/));
    const hourly = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:h\r\nDTSTART:20260101T100000Z\r\nRRULE:FREQ=HOURLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    expect(icalToEvent(hourly, 'h')).toMatchObject({ ok: false, reason: expect.stringMatching(/FREQ=HOURLY/) });
    const fifth = hourly.replace('FREQ=HOURLY', 'FREQ=MONTHLY;BYDAY=5SU');
    expect(icalToEvent(fifth, 'h')).toMatchObject({ ok: false, reason: expect.stringMatching(/first to fourth and the last/) });
  });

  /** the occurrences of the source RRULE (ical.js) and of the mapped Graph pattern (the stand-in's reading), up to 3 years on */
  function bothWays(text: string, uid: string): { expected: string[]; actual: string[] } | null {
    const mapped = icalToEvent(text, uid);
    if (!mapped.ok || !mapped.value.event.recurrence) return null;
    const vevent = new ICAL.Component(ICAL.parse(text.replace(/^(RRULE)([;:].*)$/gim, (l) => l.replace(/,\s+/g, ','))))
      .getAllSubcomponents('vevent')
      .find((v) => !v.getFirstProperty('recurrence-id'))!;
    const dtstart = vevent.getFirstPropertyValue('dtstart') as ICAL.Time;
    const rule = vevent.getFirstPropertyValue('rrule') as ICAL.Recur;
    const horizon = `${dtstart.year + 3}-12-31`;
    const expected: string[] = [];
    const iterator = rule.iterator(dtstart);
    for (let next = iterator.next(); next && expected.length < 60; next = iterator.next()) {
      const wall = { year: next.year, month: next.month, day: next.day, hour: next.hour, minute: next.minute, second: next.second };
      if (wallDateTime(wall).slice(0, 10) > horizon) break;
      expected.push(wallDateTime(wall));
    }
    const start = mapped.value.event.start!.dateTime!;
    const startWall = { year: +start.slice(0, 4), month: +start.slice(5, 7), day: +start.slice(8, 10), hour: +start.slice(11, 13), minute: +start.slice(14, 16), second: +start.slice(17, 19) };
    return { expected, actual: occurrences(mapped.value.event.recurrence, startWall, horizon).map(wallDateTime).slice(0, expected.length) };
  }

  it('gives every recurring corpus event the occurrences its RRULE gives (the stand-in’s reading of the Graph pattern against ical.js)', () => {
    let compared = 0;
    for (const { item } of events) {
      const both = bothWays(item.text, item.uid);
      if (!both) continue;
      expect({ file: item.file, occurrences: both.actual }).toEqual({ file: item.file, occurrences: both.expected });
      compared += 1;
    }
    console.log(`recurrence: ${compared} recurring corpus events expanded both ways`);
    expect(compared).toBeGreaterThanOrEqual(5);
  });

  it.each([
    'FREQ=MONTHLY;BYDAY=-1FR',
    'FREQ=MONTHLY;INTERVAL=2;BYDAY=2WE;COUNT=9',
    'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1',
    'FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20281231T235959Z',
    'FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
    'FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;INTERVAL=2',
    'FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=30',
    'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=SU;COUNT=20',
    'FREQ=WEEKLY;INTERVAL=3;BYDAY=SU,SA;WKST=MO',
    'FREQ=DAILY;INTERVAL=3;COUNT=10',
  ])('maps RRULE %s to a pattern with the same occurrences', (rule) => {
    const text = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'BEGIN:VEVENT', 'UID:r', 'DTSTART;TZID=Europe/Madrid:20260105T093000', 'DTEND;TZID=Europe/Madrid:20260105T100000', `RRULE:${rule}`, 'SUMMARY:r', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    const both = bothWays(text, 'r');
    expect(both).not.toBeNull();
    expect(both!.expected.length).toBeGreaterThanOrEqual(2);
    expect(both!.actual).toEqual(both!.expected);
  });
});

describe('idempotency key', () => {
  it('filters on the source UID property, quotes doubled', () => {
    expect(uidFilter("a'b")).toBe(`singleValueExtendedProperties/any(ep: ep/id eq '${SOURCE_UID}' and ep/value eq 'a''b')`);
  });
});
