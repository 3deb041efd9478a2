/**
 * The report e-mail as mailferry accepts it: checked before nodemailer sees it,
 * so a CR or LF smuggled into an address, the subject or a file name (from a
 * CSV, an admin's input) cannot add headers or recipients.
 */
import { z } from 'zod';

const singleLine = (what: string) =>
  z.string().refine((value) => !/[\r\n]/.test(value), { message: `${what} must not contain a line break (header injection)` });

const address = (what: string) => singleLine(what).pipe(z.email({ message: `${what} is not a valid e-mail address` }));

export const reportMailSchema = z.object({
  from: address('The sender'),
  to: z.array(address('A recipient')).min(1, { message: 'A report e-mail needs at least one recipient' }),
  subject: singleLine('The subject').pipe(z.string().min(1)),
  text: z.string(),
  html: z.string(),
  messageId: singleLine('The Message-ID')
    .pipe(z.string().regex(/^<[^<>\s@]+@[^<>\s@]+>$/, { message: 'A Message-ID looks like <id@domain>' }))
    .optional(),
  attachments: z.array(
    z.object({
      filename: singleLine('An attachment file name').pipe(
        z.string().regex(/\.csv$/i, { message: 'Report attachments are CSV files (.csv)' }),
      ),
      content: z.string(),
    }),
  ),
});
