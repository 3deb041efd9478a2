/** Report e-mail (SMTP with nodemailer). */

export interface SmtpEndpoint {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  /** allow a login without TLS (neither implicit nor STARTTLS) to a host other than this machine */
  allowPlaintext?: boolean;
}

export interface ReportMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  attachments: { filename: string; content: string }[];
  /** a stable `<…@…>` Message-ID, so a resent copy is recognisably the same message */
  messageId?: string;
}

export interface ReportMailer {
  send(mail: ReportMail): Promise<{ messageId: string }>;
}
