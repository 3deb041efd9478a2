/** Report e-mail through nodemailer to the lab's SMTP sink, read back with mailparser. */
import { randomUUID } from 'node:crypto';
import { createReportMailer, ReportMailInvalidError, type ReportMail } from '../connectors/smtp';
import { readLabInfo, type LabInfo } from '../lab/info';
import { readSinkMessages, waitForSinkMessage } from './helpers/smtpSink';

let info: LabInfo;

beforeAll(() => {
  info = readLabInfo();
});

function report(marker: string): ReportMail {
  return {
    from: 'mailferry@tailspintoys.com',
    to: ['admin@tailspintoys.com', 'sre@tailspintoys.com'],
    subject: `Mailboxes Ready — lot « été » ✓ ${marker}`,
    text: 'Every mailbox of the batch is provisioned.',
    html: '<p>Every mailbox of the batch is provisioned.</p>',
    attachments: [
      { filename: 'MailboxesReady.csv', content: 'EmailAddress,Status\r\nzoë@tailspintoys.com,Ready\r\n' },
      { filename: 'Errors.csv', content: 'EmailAddress,ErrorCode,Fix\r\nbad@legacy-contoso.test,DOMAIN_NOT_ACCEPTED,"Add the domain, then re-run"\r\n' },
    ],
  };
}

describe('report mailer', () => {
  it('delivers a UTF-8 subject and two CSV attachments', async () => {
    const marker = randomUUID();
    const since = new Date(Date.now() - 1000);
    const mail = report(marker);
    const { messageId } = await createReportMailer({ host: info.smtp.host, port: info.smtp.port, secure: false }).send(mail);
    expect(messageId).toBeTruthy();

    const { mail: received } = await waitForSinkMessage(info, { since, subject: marker });
    expect(received.subject).toBe(mail.subject);
    expect(received.messageId).toBe(messageId);
    expect(received.to).toMatchObject({ value: [{ address: 'admin@tailspintoys.com' }, { address: 'sre@tailspintoys.com' }] });
    expect(received.text?.trim()).toBe(mail.text);
    expect(received.attachments.map((a) => [a.filename, a.contentType, a.content.toString('utf8')])).toEqual(
      mail.attachments.map((a) => [a.filename, 'text/csv', a.content]),
    );
    for (const attachment of received.attachments) expect(attachment.headers.get('content-type')).toMatchObject({ params: { charset: 'utf-8' } });
  });

  it('refuses a CRLF header injection in the subject or a recipient and sends nothing', async () => {
    const marker = randomUUID();
    const since = new Date(Date.now() - 1000);
    const mailer = createReportMailer({ host: info.smtp.host, port: info.smtp.port, secure: false });
    const injected = [
      { ...report(marker), subject: `Ready ${marker}\r\nBcc: victim@evil.test` },
      { ...report(marker), to: [`admin@tailspintoys.com\r\nBcc: victim@evil.test`] },
    ];
    for (const mail of injected) await expect(mailer.send(mail)).rejects.toBeInstanceOf(ReportMailInvalidError);
    await expect(mailer.send({ ...report(marker), to: ['not an address'] })).rejects.toThrow(/not a valid e-mail address/);
    // a later good message proves the sink is working, so the absence above is real
    await mailer.send(report(`${marker}-control`));
    await waitForSinkMessage(info, { since, subject: `${marker}-control` });
    expect(await readSinkMessages(info, { since, subject: marker })).toHaveLength(1);
  });

  it('reports a dead SMTP server as a retryable CONNECTION_FAILED', async () => {
    await expect(createReportMailer({ host: '127.0.0.1', port: 1, secure: false }).send(report(randomUUID()))).rejects.toMatchObject({
      code: 'CONNECTION_FAILED',
      permanent: false,
    });
  });
});
