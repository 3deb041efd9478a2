/** The report e-mail's boundary check, before any connection is made. */
import { reportMailSchema } from '../connectors/smtp/mail';

const mail = {
  from: 'mailferry@tailspintoys.com',
  to: ['admin@tailspintoys.com'],
  subject: 'Mailboxes Ready',
  text: 't',
  html: '<p>t</p>',
  attachments: [{ filename: 'ready.csv', content: 'EmailAddress\r\na@b.test\r\n' }],
};

describe('reportMailSchema', () => {
  it('accepts a report with CRLF inside the CSV content', () => {
    expect(reportMailSchema.safeParse(mail).success).toBe(true);
  });

  it.each([
    ['subject', { subject: 'Ready\r\nBcc: victim@evil.test' }],
    ['recipient', { to: ['admin@tailspintoys.com\nBcc: victim@evil.test'] }],
    ['sender', { from: 'a@b.test\rX-Injected: 1' }],
    ['file name', { attachments: [{ filename: 'r.csv\r\nX-Injected: 1', content: '' }] }],
  ])('refuses a line break in the %s', (_field, override) => {
    const result = reportMailSchema.safeParse({ ...mail, ...override });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join(' ')).toMatch(/line break/);
  });

  it.each([[['not an address']], [[]], [['a@b.test', 'a b@c.test']]])('refuses recipients %j', (to) => {
    expect(reportMailSchema.safeParse({ ...mail, to }).success).toBe(false);
  });

  it('refuses an attachment that is not a CSV file', () => {
    expect(reportMailSchema.safeParse({ ...mail, attachments: [{ filename: 'r.exe', content: '' }] }).success).toBe(false);
  });
});
