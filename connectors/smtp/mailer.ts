/**
 * Sends report e-mails (Mailboxes Ready, Migration Complete, errors) with
 * nodemailer; every attachment is a CSV file in UTF-8.
 */
import nodemailer from 'nodemailer';
import { MailferryError } from '../../shared/errors';
import { isLoopbackHost } from '../../shared/transport';
import { reportMailSchema } from './mail';
import type { ReportMail, ReportMailer, SmtpEndpoint } from './types';

/** A report e-mail that was refused before sending; `issues` says which field and why. */
export class ReportMailInvalidError extends Error {
  readonly code = 'REPORT_MAIL_INVALID';
  constructor(readonly issues: string[]) {
    super(`The report e-mail was not sent: ${issues.join('; ')}. Fix the recipient list or subject and send it again.`);
    this.name = 'ReportMailInvalidError';
  }
}

const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED']);

function translate(error: unknown, endpoint: SmtpEndpoint): unknown {
  const code = (error as { code?: string }).code;
  const where = `${endpoint.host}:${endpoint.port}`;
  if (code === 'EAUTH') {
    return new MailferryError('AUTH_FAILED', `The SMTP server ${where} refused the login${endpoint.user ? ` of ${endpoint.user}` : ''}.`, {
      cause: error,
    });
  }
  if (code === 'ETLS' || code === 'ENOTLS') {
    return new MailferryError('TLS_REQUIRED', `TLS with the SMTP server ${where} failed.`, { cause: error });
  }
  if (code && TRANSIENT_CODES.has(code)) {
    return new MailferryError('CONNECTION_FAILED', `Cannot reach the SMTP server ${where} (${code}).`, { permanent: false, cause: error });
  }
  return error;
}

export function createReportMailer(endpoint: SmtpEndpoint): ReportMailer {
  const transport = nodemailer.createTransport({
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.secure,
    // a remote server must offer STARTTLS before it gets a login, unless plaintext is allowed
    requireTLS: !endpoint.secure && !endpoint.allowPlaintext && !isLoopbackHost(endpoint.host),
    auth: endpoint.user ? { user: endpoint.user, pass: endpoint.password ?? '' } : undefined,
    connectionTimeout: 10_000,
    // no SMTP transcript in logs: it would hold the AUTH exchange
    logger: false,
    debug: false,
  });

  return {
    async send(mail: ReportMail) {
      const parsed = reportMailSchema.safeParse(mail);
      if (!parsed.success) throw new ReportMailInvalidError(parsed.error.issues.map((i) => `${i.path.join('.') || 'mail'}: ${i.message}`));
      const { from, to, subject, text, html, attachments, messageId } = parsed.data;
      try {
        const info = await transport.sendMail({
          from,
          to,
          subject,
          text,
          html,
          messageId,
          attachments: attachments.map(({ filename, content }) => ({ filename, content, contentType: 'text/csv; charset=utf-8' })),
        });
        return { messageId: info.messageId };
      } catch (error) {
        throw translate(error, endpoint);
      }
    },
  };
}
