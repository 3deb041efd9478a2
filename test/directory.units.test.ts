/** Pure parts of the directory connector: filter escaping, proxy addresses, passwords, versions. */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { BerReader, BerWriter, FilterParser, type AndFilter, type EqualityFilter, type OrFilter } from 'ldapts';
import { guidFromBytes, guidToBytes, escapeDnValue } from '../connectors/directory/ad';
import { EXCHANGE_MAP, LDAP_MAP } from '../connectors/directory/attributeMap';
import { recipientByAddress } from '../connectors/directory/filters';
import { meetsPasswordPolicy, sshaHash } from '../connectors/directory/password';
import { mergeProxyAddresses, sameProxyAddresses } from '../connectors/directory/proxyAddresses';
import { exchangeServerVersion, exchangeYear, newestServer, supportsStagedMigration } from '../connectors/directory/version';

const HOSTILE = ['*)(mail=*', 'a,b=c@x', '\\', 'nul\0@x.test', '*', '(|(objectClass=*))', 'x)(|(mail=*)'];

/** the address values the filter asserts, as a server decodes them */
function assertedValues(filter: AndFilter): string[] {
  const or = filter.filters[1] as OrFilter;
  return or.filters.map((f) => String((f as EqualityFilter).value));
}

describe.each([EXCHANGE_MAP, LDAP_MAP])('recipientByAddress ($name map)', (map) => {
  it.each(HOSTILE)('keeps %j a literal value in the filter string', (address) => {
    const text = recipientByAddress(map, address).toString();
    const reparsed = FilterParser.parseString(text) as AndFilter;
    expect(assertedValues(reparsed)).toEqual([address, `smtp:${address}`]);
    expect(reparsed.filters).toHaveLength(2);
  });

  it('puts any string on the wire as exactly that assertion value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (address) => {
        const writer = new BerWriter();
        recipientByAddress(map, address).write(writer);
        const decoded = FilterParser.parse(new BerReader(writer.buffer)) as AndFilter;
        expect(assertedValues(decoded)).toEqual([address, `smtp:${address}`]);
        expect(assertedValues(FilterParser.parseString(recipientByAddress(map, address).toString()) as AndFilter)).toEqual([address, `smtp:${address}`]);
      }),
    );
  });
});

describe('mergeProxyAddresses', () => {
  const primary = 'pilarp@tailspintoys.com';

  it('unions the lists, keeps the primary as the only SMTP: and adds nothing twice', () => {
    const onprem = ['SMTP:pilarp@tailspintoys.com', 'smtp:pilar@tailspintoys.com'];
    const cloud = ['SMTP:PilarP@tailspintoys.com', 'smtp:pilarp@tailspintoys.mail.cloud.test', 'SMTP:pilar@TailspinToys.com'];
    const merged = mergeProxyAddresses(primary, onprem, cloud, ['X500:/o=Tailspin/cn=pilarp']);
    expect(merged).toEqual(['SMTP:pilarp@tailspintoys.com', 'smtp:pilar@tailspintoys.com', 'smtp:pilarp@tailspintoys.mail.cloud.test', 'X500:/o=Tailspin/cn=pilarp']);
    expect(merged.filter((p) => p.startsWith('SMTP:'))).toEqual([`SMTP:${primary}`]);
  });

  it('is idempotent: merging the result again changes nothing', () => {
    const once = mergeProxyAddresses(primary, ['smtp:a@tailspintoys.com'], ['X500:/o=T/cn=p']);
    const twice = mergeProxyAddresses(primary, once, ['X500:/o=T/cn=p']);
    expect(sameProxyAddresses(once, twice)).toBe(true);
  });

  it('tells order from content', () => {
    expect(sameProxyAddresses(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(sameProxyAddresses(['SMTP:a@x'], ['smtp:a@x'])).toBe(false);
    expect(sameProxyAddresses(['a'], ['a', 'b'])).toBe(false);
  });
});

describe('passwords', () => {
  it.each([
    ['P@ssw0rd', true],
    ['Passw0rd', true],
    ['password1!', true],
    ['Pass1!', false],
    ['password', false],
    ['PASSWORD1', false],
    ['Password', false],
  ])('policy(%j) is %s', (password, ok) => {
    expect(meetsPasswordPolicy(password)).toBe(ok);
  });

  it('hashes as salted SHA-1 that verifies the password and not another', () => {
    const hash = sshaHash('P@ssw0rd');
    expect(hash).toMatch(/^\{SSHA\}/);
    const raw = Buffer.from(hash.slice('{SSHA}'.length), 'base64');
    const digest = raw.subarray(0, 20);
    const salt = raw.subarray(20);
    expect(createHash('sha1').update('P@ssw0rd').update(salt).digest().equals(digest)).toBe(true);
    expect(createHash('sha1').update('P@ssw0rD').update(salt).digest().equals(digest)).toBe(false);
    expect(sshaHash('P@ssw0rd')).not.toBe(hash);
    expect(hash).not.toContain('P@ssw0rd');
  });
});

describe('source versions', () => {
  it.each([
    ['Exchange 2003', 2003, true],
    ['Exchange 2007', 2007, true],
    ['Microsoft Exchange Server 2007 SP3', 2007, true],
    ['Exchange 2010', 2010, false],
    ['Exchange 2016', 2016, false],
    ['', null, false],
    ['Lotus Domino 8', null, false],
  ])('%j → year %s, staged %s', (version, year, ok) => {
    expect(exchangeYear(version)).toBe(year);
    expect(supportsStagedMigration(version)).toBe(ok);
  });
});

describe("Exchange server versions (a server object's serialNumber)", () => {
  it.each([
    ['Version 6.5 (Build 7638.2: Service Pack 2)', 'Exchange 2003', true],
    ['Version 8.3 (Build 83.6)', 'Exchange 2007', true],
    ['Version 14.3 (Build 123.4)', 'Exchange 2010', false],
    ['Version 15.0 (Build 1497.2)', 'Exchange 2013', false],
    ['Version 15.1 (Build 2507.6)', 'Exchange 2016', false],
    ['Version 15.2 (Build 1118.7)', 'Exchange 2019', false],
  ])('%j → %s (staged: %s)', (serial, name, staged) => {
    expect(exchangeServerVersion(serial)).toBe(name);
    expect(supportsStagedMigration(`${exchangeServerVersion(serial)} (${serial})`)).toBe(staged);
  });

  it('is not a version without "Version major.minor", and the newest server decides', () => {
    expect(exchangeServerVersion('')).toBeNull();
    expect(exchangeServerVersion('Build 83.6')).toBeNull();
    const servers = [{ serialNumber: 'Version 8.3 (Build 83.6)' }, { serialNumber: 'Version 14.3 (Build 123.4)' }, { serialNumber: '' }];
    expect(newestServer(servers)).toBe(servers[1]);
  });
});

describe('AD encodings', () => {
  it('reads a GUID in .NET byte order and writes it back', () => {
    // objectGUID bytes as AD returns them for {bf967987-0de6-11d0-a285-00aa003049e2} (homeMDB's schemaIDGUID)
    const wire = Buffer.from('8779 96bf e60d d011 a285 00aa 0030 49e2'.replace(/ /g, ''), 'hex');
    expect(guidFromBytes(wire)).toBe('bf967987-0de6-11d0-a285-00aa003049e2');
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => expect(guidToBytes(guidFromBytes(Buffer.from(b)))).toEqual(Buffer.from(b))));
  });

  it.each([
    ['a,b', 'a\\,b'],
    ['a+b', 'a\\+b'],
    ['#lead', '\\#lead'],
    ['mid#dle', 'mid#dle'],
    ['back\\slash', 'back\\\\slash'],
    ['nul\0x', 'nul\\00x'],
    [' both ', '\\ both\\ '],
    ['q"<>;=', 'q\\"\\<\\>\\;\\='],
    ['pilarp@tailspintoys.com', 'pilarp@tailspintoys.com'],
  ])('escapes the RDN value %j as %j', (value, escaped) => {
    expect(escapeDnValue(value)).toBe(escaped);
  });
});
