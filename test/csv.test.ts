import { parse } from 'csv-parse/sync';
import { CsvStructureError, csvSafe, toCsv, validateCsv, type CsvContext, type CsvStructureCode } from '../shared/csv';

const file = (...lines: string[]) => `${lines.join('\n')}\n`;

function structureError(content: string | Buffer, context?: CsvContext): CsvStructureError {
  try {
    validateCsv(content, context);
  } catch (error) {
    if (error instanceof CsvStructureError) return error;
    throw error;
  }
  throw new Error('expected the file to be rejected');
}

function expectStructure(content: string | Buffer, code: CsvStructureCode, line?: number): CsvStructureError {
  const error = structureError(content);
  expect(error.code).toBe(code);
  if (line !== undefined) expect(error.line).toBe(line);
  expect(error.message).toContain(error.fix);
  return error;
}

const rowsOf = (count: number) => Array.from({ length: count }, (_, i) => `user${i}@contoso.com,Pa55word!${i},False`);

describe('structural errors reject the whole file', () => {
  test('EMPTY: nothing, only blank lines, only a BOM, only separators, or a header without rows', () => {
    expectStructure('', 'EMPTY');
    expectStructure('\n\n   \r\n\t\n', 'EMPTY');
    expectStructure('\uFEFF', 'EMPTY');
    expectStructure(',,\n,,\n', 'EMPTY');
    expect(expectStructure(file('EmailAddress,Password'), 'EMPTY').message).toMatch(/header line but no rows/);
  });

  test('NOT_COMMA_SEPARATED: semicolons or tabs between columns', () => {
    const semicolons = expectStructure(file('EmailAddress;Password;ForceChangePassword', 'ann@contoso.com;Secret-1;False'), 'NOT_COMMA_SEPARATED', 1);
    expect(semicolons.message).toMatch(/semicolons/);
    expect(expectStructure(file('EmailAddress\tPassword', 'ann@contoso.com\tSecret-1'), 'NOT_COMMA_SEPARATED', 1).message).toMatch(/tabs/);
  });

  test('TOO_MANY_ROWS: 1,000 rows are accepted, 1,001 are not', () => {
    expect(validateCsv(file('EmailAddress,Password,ForceChangePassword', ...rowsOf(1000))).rows).toHaveLength(1000);
    const error = expectStructure(file('EmailAddress,Password,ForceChangePassword', ...rowsOf(1001)), 'TOO_MANY_ROWS');
    expect(error.message).toMatch(/1,001 rows; a batch holds at most 1,000/);
  });

  test('TOO_MANY_ROWS counts rows, not blank lines', () => {
    expect(validateCsv(file('EmailAddress', ...rowsOf(1000).map((r) => r.split(',')[0]!), '', '', ',,')).rows).toHaveLength(1000);
  });

  test('UNKNOWN_HEADER names the column', () => {
    const error = expectStructure(file('EmailAddress,Pasword', 'ann@contoso.com,x'), 'UNKNOWN_HEADER', 1);
    expect(error.message).toMatch(/"Pasword" \(column 2\)/);
    expect(expectStructure(file('EmailAddress,', 'ann@contoso.com,'), 'UNKNOWN_HEADER').message).toMatch(/an empty name \(column 2\)/);
  });

  test('a swapped-column file (passwords under EmailAddress) never quotes a password, in any message or field', () => {
    const passwords = ['Pa55word!x', 'S3cret;=1+1', 'only-letters', 'x@y'];
    const result = validateCsv(file('EmailAddress,Password,ForceChangePassword', ...passwords.map((p, i) => `${p},user${i}@contoso.com,False`)));
    expect(result.rows).toEqual([]);
    expect(result.rejected.map((r) => r.code)).toEqual(passwords.map(() => 'BAD_ADDRESS'));
    const shown = JSON.stringify(result);
    for (const p of passwords) expect(shown).not.toContain(p);
  });

  test('an unknown header name that is not made of letters is not quoted (it could be a password)', () => {
    const message = expectStructure(file('EmailAddress,Hunter2!', 'ann@contoso.com,x'), 'UNKNOWN_HEADER', 1).message;
    expect(message).toMatch(/a name of 8 characters \(not shown\) \(column 2\)/);
    expect(message).not.toContain('Hunter2');
  });

  test('UNKNOWN_HEADER for a file without a header never prints the first row (it holds a password)', () => {
    const error = expectStructure(file('ann@contoso.com,Secret-Value-1,False'), 'UNKNOWN_HEADER', 1);
    expect(error.message).toMatch(/header line is missing/);
    expect(error.message).not.toContain('Secret-Value-1');
    const withoutAddress = expectStructure(file('ann,Secret-Value-1,True'), 'UNKNOWN_HEADER', 1);
    expect(withoutAddress.message).not.toContain('Secret-Value-1');
  });

  test('DUPLICATE_HEADER, case-insensitively', () => {
    expect(expectStructure(file('EmailAddress,Password,emailaddress', 'a@contoso.com,x,b@contoso.com'), 'DUPLICATE_HEADER', 1).message).toMatch(
      /EmailAddress twice \(columns 1 and 3\)/,
    );
  });

  test('MISSING_EMAILADDRESS', () => {
    expectStructure(file('Password,ForceChangePassword', 'Secret-1,False'), 'MISSING_EMAILADDRESS', 1);
  });

  test('COLUMN_COUNT names the physical line and both counts', () => {
    const content = file('EmailAddress,Password', 'ann@contoso.com,"multi', 'line"', '', 'bob@contoso.com,Secret-1,extra');
    const error = expectStructure(content, 'COLUMN_COUNT', 5);
    expect(error.message).toMatch(/^Line 5 has 3 values but the header has 2 columns\./);
    expect(error.message).not.toContain('Secret-1');
    expectStructure(file('EmailAddress,Password,ForceChangePassword', 'ann@contoso.com,Secret-1'), 'COLUMN_COUNT', 2);
  });

  test('UNPARSEABLE: an unclosed quote is reported where it opens', () => {
    const error = expectStructure(file('EmailAddress,Password', 'ann@contoso.com,x', '', 'bob@contoso.com,"Secret-2', 'carl@contoso.com,y'), 'UNPARSEABLE', 4);
    expect(error.message).toMatch(/never closed/);
    expect(error.message).not.toContain('Secret-2');
  });

  test('UNPARSEABLE: stray quotes inside values, without echoing the value', () => {
    const opening = expectStructure(file('EmailAddress,Password', 'ann@contoso.com,Sec"ret-3'), 'UNPARSEABLE', 2);
    expect(opening.message).not.toContain('Sec');
    const closing = expectStructure(file('EmailAddress,Password', 'ann@contoso.com,x', 'bob@contoso.com,"Secret"-4'), 'UNPARSEABLE', 3);
    expect(closing.message).not.toContain('Secret');
  });
});

describe('row errors skip the row and keep the batch', () => {
  const header = 'EmailAddress,Password,ForceChangePassword';

  test('BAD_ADDRESS', () => {
    const result = validateCsv(file(header, 'ann@,,', 'ann.contoso.com,x,False', ',Secret-5,False', 'a b@contoso.com,,', 'ok@contoso.com,,'));
    expect(result.rejected.map((r) => [r.line, r.code, r.field])).toEqual([
      [2, 'BAD_ADDRESS', 'EmailAddress'],
      [3, 'BAD_ADDRESS', 'EmailAddress'],
      [4, 'BAD_ADDRESS', 'EmailAddress'],
      [5, 'BAD_ADDRESS', 'EmailAddress'],
    ]);
    expect(result.rejected[2]!.message).toBe('Line 4: the EmailAddress is empty.');
    expect(result.rejected[1]!.message).toBe(
      'Line 3: the EmailAddress (15 characters, not shown: in a file with swapped columns it is the password) is not a valid e-mail address.',
    );
    expect(result.rejected[1]!.address).toBe('(not shown: 15 characters)');
    expect(result.rows.map((r) => r.address)).toEqual(['ok@contoso.com']);
  });

  test('the short "ann@" row is a column-count error, not a row error', () => {
    expect(structureError(file(header, 'ann@')).code).toBe('COLUMN_COUNT');
  });

  test('DUPLICATE_ADDRESS is case-insensitive and names the first line', () => {
    const result = validateCsv(file(header, 'Ann@Contoso.com,x,False', 'bob@contoso.com,y,False', 'ann@contoso.COM,z,False'));
    expect(result.rejected).toEqual([
      expect.objectContaining({ line: 4, address: 'ann@contoso.COM', code: 'DUPLICATE_ADDRESS', message: 'Line 4: ann@contoso.com already appears on line 2.' }),
    ]);
    expect(result.rows.map((r) => r.line)).toEqual([2, 3]);
  });

  test('BAD_FORCE_CHANGE accepts True/False in any case and empty as False, without echoing the value', () => {
    const result = validateCsv(file(header, 'a@contoso.com,x,TRUE', 'b@contoso.com,x,false', 'c@contoso.com,x,', 'd@contoso.com,x,yes', 'e@contoso.com,x,Secret-6'));
    expect(result.rows.map((r) => [r.address, r.forceChangePassword])).toEqual([
      ['a@contoso.com', true],
      ['b@contoso.com', false],
      ['c@contoso.com', false],
    ]);
    expect(result.rejected.map((r) => [r.line, r.code, r.field])).toEqual([
      [5, 'BAD_FORCE_CHANGE', 'ForceChangePassword'],
      [6, 'BAD_FORCE_CHANGE', 'ForceChangePassword'],
    ]);
    expect(result.rejected[1]!.message).not.toContain('Secret-6');
  });

  test('DOMAIN_NOT_ACCEPTED only when the accepted domains are known', () => {
    const content = file(header, 'ann@contoso.com,x,False', 'bob@fabrikam.com,y,False', 'carl@Sales.Contoso.com,z,False');
    expect(validateCsv(content).rejected).toEqual([]);
    const result = validateCsv(content, { acceptedDomains: ['CONTOSO.com'] });
    expect(result.rejected.map((r) => [r.line, r.code, r.message])).toEqual([
      [3, 'DOMAIN_NOT_ACCEPTED', 'Line 3: fabrikam.com is not an accepted domain of the cloud organisation.'],
      [4, 'DOMAIN_NOT_ACCEPTED', 'Line 4: sales.contoso.com is not an accepted domain of the cloud organisation.'],
    ]);
    expect(result.rejected[0]!.fix).toMatch(/accepted domain/);
  });

  test('FEDERATED_FORCE_CHANGE when True is asked for a federated domain', () => {
    const result = validateCsv(file(header, 'ann@sso.contoso.com,x,True', 'bob@sso.contoso.com,y,False', 'carl@contoso.com,z,True'), {
      acceptedDomains: ['contoso.com', 'sso.contoso.com'],
      federatedDomains: ['SSO.contoso.com'],
    });
    expect(result.rejected.map((r) => [r.line, r.code, r.field])).toEqual([[2, 'FEDERATED_FORCE_CHANGE', 'ForceChangePassword']]);
    expect(result.rows.map((r) => r.address)).toEqual(['bob@sso.contoso.com', 'carl@contoso.com']);
  });

  test('every rejection carries a fix, and no message holds a password', () => {
    const result = validateCsv(file(header, 'bad,Secret-7,False', 'a@x.com,Secret-8,maybe', 'a@x.com,Secret-9,False', 'b@y.com,Secret-10,True'), {
      acceptedDomains: ['x.com'],
      federatedDomains: ['x.com'],
    });
    expect(result.rejected).toHaveLength(4);
    for (const r of result.rejected) {
      expect(r.fix.length).toBeGreaterThan(10);
      expect(r.message).not.toMatch(/Secret-/);
    }
  });
});

describe('valid rows', () => {
  test('keep line, lower-cased address, password when given, and ForceChangePassword', () => {
    const result = validateCsv(file('EmailAddress,Password,ForceChangePassword', 'Ann@Contoso.com,Secret-1,True', 'bob@contoso.com,,False'));
    expect(result).toEqual({
      rows: [
        { line: 2, address: 'ann@contoso.com', password: 'Secret-1', forceChangePassword: true },
        { line: 3, address: 'bob@contoso.com', forceChangePassword: false },
      ],
      rejected: [],
    });
  });

  test('header names in any case and order; only EmailAddress is required', () => {
    const result = validateCsv(file(' forcechangepassword ,EMAILADDRESS,password', 'true,ann@contoso.com,Secret-1'));
    expect(result.rows).toEqual([{ line: 2, address: 'ann@contoso.com', password: 'Secret-1', forceChangePassword: true }]);
    expect(validateCsv(file('emailaddress', 'ann@contoso.com')).rows).toEqual([{ line: 2, address: 'ann@contoso.com', forceChangePassword: false }]);
  });

  test('UTF-8 BOM (string and Buffer), CRLF, lone CR, blank lines and whitespace around values', () => {
    const expected = [
      { line: 3, address: 'ann@contoso.com', password: 'p w', forceChangePassword: true },
      { line: 6, address: 'bob@contoso.com', forceChangePassword: false },
    ];
    const lines = ['EmailAddress , Password,ForceChangePassword', '', '  ann@contoso.com ,"p w", True ', '   ', ',,', ' bob@contoso.com,,', '', ''];
    expect(validateCsv(`\uFEFF${lines.join('\r\n')}`).rows).toEqual(expected);
    expect(validateCsv(Buffer.from(`\uFEFF${lines.join('\n')}`, 'utf8')).rows).toEqual(expected);
    expect(validateCsv(lines.join('\r')).rows).toEqual(expected);
  });

  test('UTF-16 files saved by Excel are read too', () => {
    const text = file('EmailAddress,Password', 'ann@contoso.com,Pässwörd');
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect(validateCsv(le).rows).toEqual([{ line: 2, address: 'ann@contoso.com', password: 'Pässwörd', forceChangePassword: false }]);
    expect(structureError(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('EmailAddress\tPassword\n', 'utf16le')])).code).toBe('NOT_COMMA_SEPARATED');
  });

  test('quoted values with commas, quotes and line breaks; later lines are numbered physically', () => {
    const content = file('EmailAddress,Password', 'ann@contoso.com,"a,b ""c""', 'd"', 'bob@contoso.com,"x"');
    expect(validateCsv(content).rows).toEqual([
      { line: 2, address: 'ann@contoso.com', password: 'a,b "c"\nd', forceChangePassword: false },
      { line: 4, address: 'bob@contoso.com', password: 'x', forceChangePassword: false },
    ]);
  });

  test('a file without a final line break', () => {
    expect(validateCsv('EmailAddress\nann@contoso.com').rows).toHaveLength(1);
  });
});

describe('report writing', () => {
  test('csvSafe neutralises every piece a spreadsheet could split off where ; or a tab is the list separator', () => {
    expect(csvSafe('a;=HYPERLINK("http://x")')).toBe(`a;'=HYPERLINK("http://x")`);
    expect(csvSafe('a\t+1')).toBe("a\t'+1");
    expect(csvSafe('a,@SUM(1)')).toBe("a,'@SUM(1)");
    expect(csvSafe('  =1+1')).toBe("'  =1+1");
    expect(csvSafe('\uFF1D1+1')).toBe("'\uFF1D1+1");
    expect(csvSafe('a;"=1+1')).toBe(`a;'"=1+1`);
    expect(csvSafe('ann@contoso.com; bob@contoso.com')).toBe('ann@contoso.com; bob@contoso.com');
  });

  test('csvSafe neutralises every formula start and leaves other values alone', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) expect(csvSafe(`${start}SUM(A1)`)).toBe(`'${start}SUM(A1)`);
    expect(csvSafe('ann@contoso.com')).toBe('ann@contoso.com');
    expect(csvSafe('')).toBe('');
  });

  test('toCsv writes a BOM, a header, CRLF, True/False, quoted values and safe cells', () => {
    const out = toCsv(
      [
        { line: 2, address: 'ann@contoso.com', error: '=HYPERLINK("http://x")', ok: true },
        { line: 3, address: '@bob', error: 'a, b\nc', ok: false },
      ],
      [{ key: 'line', header: 'Line' }, 'address', { key: 'error', header: 'Error' }, { key: 'ok', header: 'Ok' }],
    );
    expect(out.startsWith('\uFEFFLine,address,Error,Ok\r\n')).toBe(true);
    const back = parse(out, { bom: true, columns: true }) as Record<string, string>[];
    expect(back).toEqual([
      { Line: '2', address: 'ann@contoso.com', Error: `'=HYPERLINK("http://x")`, Ok: 'True' },
      { Line: '3', address: "'@bob", Error: 'a, b\nc', Ok: 'False' },
    ]);
  });
});
