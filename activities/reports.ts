/**
 * Batch reports (DESIGN 6–8, 12): each is a CSV file kept under the reports
 * directory and attached to a status e-mail sent to the admin and the extra
 * recipients given at batch start.
 */
import { Context } from '@temporalio/activity';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { toCsv, writeReportFile } from '../shared/csv';
import {
  badItemCount,
  describeCopyRules,
  ORG_NAME_PATTERN,
  reportMessageId,
  type BadItemList,
  type BatchStatus,
  type CopyRules,
  type PreparedMail,
  type ReportKind,
} from '../shared/domain';
import { mapLimit } from '../shared/mapLimit';
import type { Ledger } from '../connectors/ledger/types';
import type { ActivityDeps } from './deps';
import { translated } from './failures';

export interface BatchReportInput {
  kind: ReportKind;
  org: string;
  batch: number;
  startedAt: string;
  startedBy: string;
  adminEmail: string;
  notify: string[];
  status: BatchStatus;
  /** the copy rules the batch ran with (organisation's and its own), for the report to say what was left out on purpose */
  copyRules?: CopyRules;
}

/** Each mailbox's bad items over every pass, from its record: the batch carries only counts. */
type BadItemsByAddress = Map<string, BadItemList>;

type Row = BatchStatus['rows'][number];
interface Report {
  name: string;
  content: string;
}

const titles: Record<ReportKind, string> = {
  mailboxesReady: 'Mailboxes Ready',
  migrationComplete: 'Migration Complete',
  stopped: 'Batch stopped',
};

function mailboxesReady(rows: Row[]): Report {
  const ready = rows.filter((r) => r.state === 'ready' || r.state === 'copying' || r.state === 'completed');
  return {
    name: 'MailboxesReady.csv',
    content: toCsv(
      ready.map((r) => ({ Line: r.line, EmailAddress: r.address, State: r.state })),
      ['Line', 'EmailAddress', 'State'],
    ),
  };
}

function errorReport(rows: Row[]): Report | null {
  const bad = rows.filter((r) => r.state === 'failed' || r.state === 'stopped');
  if (bad.length === 0) return null;
  return {
    name: 'ErrorReport.csv',
    content: toCsv(
      bad.map((r) => ({
        Line: r.line,
        EmailAddress: r.address,
        State: r.state,
        Step: r.step ?? '',
        Code: r.error?.code ?? '',
        Error: r.error?.message ?? '',
        SuggestedFix: r.error?.fix ?? '',
      })),
      ['Line', 'EmailAddress', 'State', 'Step', 'Code', 'Error', 'SuggestedFix'],
    ),
  };
}

function validationReport(status: BatchStatus): Report | null {
  if (status.rejected.length === 0) return null;
  return {
    name: 'ValidationReport.csv',
    content: toCsv(
      status.rejected.map((r) => ({ Line: r.line, EmailAddress: r.address, Code: r.code, Error: r.message, SuggestedFix: r.fix })),
      ['Line', 'EmailAddress', 'Code', 'Error', 'SuggestedFix'],
    ),
  };
}

function migrationComplete(rows: Row[], bad: BadItemsByAddress): Report {
  return {
    name: 'MigrationComplete.csv',
    content: toCsv(
      rows.map((r) => ({
        Line: r.line,
        EmailAddress: r.address,
        State: r.state,
        MessagesCopied: r.copy?.messagesCopied ?? 0,
        BytesCopied: r.copy?.bytesCopied ?? 0,
        MessagesAlreadyThere: r.copy?.messagesExisting ?? 0,
        // every pass's, from the record's list; a row whose record holds none (an older record) has its latest pass's count
        ItemsSkipped: bad.has(r.address) ? badItemCount(bad.get(r.address)) : (r.copy?.badItems ?? 0),
        ContactsCopied: r.copy?.contactsCopied ?? 0,
        EventsCopied: r.copy?.eventsCopied ?? 0,
        MeetingsNotInvited: r.copy?.meetingsNotInvited ?? 0,
        MessagesLeftOutByRules: r.copy?.messagesSkipped ?? 0,
      })),
      [
        'Line',
        'EmailAddress',
        'State',
        'MessagesCopied',
        'BytesCopied',
        'MessagesAlreadyThere',
        'ItemsSkipped',
        'ContactsCopied',
        'EventsCopied',
        'MeetingsNotInvited',
        'MessagesLeftOutByRules',
      ],
    ),
  };
}

/**
 * Every item the copy could not bring over, per mailbox: a message with its
 * folder, date, subject and why; a contact or event with its collection,
 * UID, summary and the target server's answer. Past the listed ones, a line
 * says how many more there are.
 */
function badItemsReport(rows: Row[], bad: BadItemsByAddress): Report | null {
  const lines: Record<string, string | number>[] = [];
  for (const r of rows) {
    const list = bad.get(r.address);
    if (!list) continue;
    for (const item of list.items) {
      lines.push(
        item.kind === 'message'
          ? { EmailAddress: r.address, Kind: 'message', Where: item.folder, Date: item.date ?? '', Subject: item.subject ?? '', Uid: item.uid, Reason: item.reason }
          : { EmailAddress: r.address, Kind: item.kind, Where: item.collection, Date: '', Subject: item.summary, Uid: item.uid, Reason: item.answer },
      );
    }
    if (list.more > 0)
      lines.push({ EmailAddress: r.address, Kind: '', Where: '', Date: '', Subject: '', Uid: '', Reason: `and ${list.more} more not listed` });
  }
  if (lines.length === 0) return null;
  return { name: 'BadItems.csv', content: toCsv(lines, ['EmailAddress', 'Kind', 'Where', 'Date', 'Subject', 'Uid', 'Reason']) };
}

/** The bad-item lists of the rows that copied anything, read from their records (a few at a time). */
async function badItemsOf(ledger: Ledger, org: string, rows: Row[]): Promise<BadItemsByAddress> {
  const out: BadItemsByAddress = new Map();
  await mapLimit(
    rows.filter((r) => r.copy),
    8,
    async (r) => {
      const list = (await ledger.recordOf(org, r.address))?.badItems;
      if (list) out.set(r.address, list);
    },
  );
  return out;
}

function reportsFor(input: BatchReportInput, bad: BadItemsByAddress): Report[] {
  const rows = input.status.rows;
  const chosen: (Report | null)[] =
    input.kind === 'migrationComplete'
      ? [migrationComplete(rows, bad), badItemsReport(rows, bad), errorReport(rows)]
      : [mailboxesReady(rows), errorReport(rows), validationReport(input.status)];
  return chosen.filter((r): r is Report => r !== null);
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function summaryLines(input: BatchReportInput, bad: BadItemsByAddress): [string, string][] {
  const s = input.status;
  const copied = s.rows.reduce((n, r) => n + (r.copy?.messagesCopied ?? 0), 0);
  const rules = describeCopyRules(input.copyRules);
  const badTotal = [...bad.values()].reduce((n, l) => n + badItemCount(l), 0);
  return [
    ['Organisation', input.org],
    ['Batch', String(input.batch)],
    ['Started', `${input.startedAt} by ${input.startedBy}`],
    ['Mailboxes in batch', String(s.total)],
    ['Mailboxes created', String(s.created)],
    ['Failed', String(s.failed)],
    ['Stopped or not started', String(s.rows.filter((r) => r.state === 'stopped').length)],
    ['Rows rejected by validation', String(s.rejected.length)],
    ['Messages copied', String(copied)],
    ['Copy rules', rules.length ? rules.join('; ') : 'none (every folder, every message)'],
    ...(input.kind === 'migrationComplete' ? ([['Items not copied (BadItems.csv)', String(badTotal)]] as [string, string][]) : []),
    ...(s.copyRate
      ? ([['Measured copy rate', `${(s.copyRate.bytesPerSecond / 1e6).toFixed(2)} MB/s, ${s.copyRate.messagesPerSecond} messages/s`]] as [
          string,
          string,
        ][])
      : []),
    ...(s.eta ? ([['Estimated finish', `${s.eta.finishesAt} (${s.eta.basis})`]] as [string, string][]) : []),
  ];
}

/**
 * The sent mark: what an attempt heartbeats the moment the SMTP server has
 * taken the message. Temporal keeps it with the activity and hands it to the
 * next attempt on whichever worker, so a retry after that moment sends
 * nothing. A worker killed between the server's "250 OK" and that heartbeat
 * reaching Temporal (milliseconds) leaves no mark: its retry sends a second
 * copy, with the same Message-ID.
 */
interface SentMark {
  sent: string;
  at: string;
}

export function createReportActivities({ connectors, reports, logger }: ActivityDeps) {
  return {
    /** Writes the kind's CSV reports and returns their paths with the e-mail that carries them (sent by sendReportMail). */
    async writeBatchReport(input: BatchReportInput): Promise<{ paths: string[]; mail: PreparedMail }> {
      if (!ORG_NAME_PATTERN.test(input.org)) throw new Error(`Refusing report path for organisation name ${JSON.stringify(input.org)}`);
      return translated(async () => {
        const dir = join(reports.dir, input.org, `batch-${input.batch}`, input.kind);
        const bad = input.kind === 'migrationComplete' ? await badItemsOf(connectors.ledger, input.org, input.status.rows) : new Map();
        const files = reportsFor(input, bad);
        const paths = await Promise.all(
          files.map(async (f) => {
            const path = join(dir, f.name);
            await writeReportFile(path, f.content);
            return path;
          }),
        );
        const lines = summaryLines(input, bad);
        const title = `${titles[input.kind]}: ${input.org} batch ${input.batch}`;
        return {
          paths,
          mail: {
            org: input.org,
            messageId: reportMessageId(input.org, input.batch, input.kind),
            to: [input.adminEmail, ...input.notify],
            subject: `[mailferry] ${title} (${input.status.created} created, ${input.status.failed} failed)`,
            text: `${title}\n\n${lines.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\nReports attached: ${files.map((f) => f.name).join(', ')}\n`,
            html: `<h2>${escapeHtml(title)}</h2><table>${lines.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table><p>Reports attached: ${files.map((f) => escapeHtml(f.name)).join(', ')}</p>`,
            attachments: paths,
          },
        };
      });
    },

    /**
     * Sends a prepared report e-mail once: an attempt that finds the sent mark
     * of an earlier one sends nothing (see SentMark), and every copy carries
     * the same Message-ID, so a mail system that sees two keeps one.
     */
    async sendReportMail(mail: PreparedMail): Promise<{ sent: boolean }> {
      const ctx = Context.current();
      const mark = ctx.info.heartbeatDetails as SentMark | undefined;
      if (mark?.sent === mail.messageId) {
        logger.info({ org: mail.org, messageId: mail.messageId, sentAt: mark.at }, 'report e-mail sent by an earlier attempt');
        return { sent: false };
      }
      return translated(async () => {
        const attachments = await Promise.all(
          mail.attachments.map(async (path) => ({ filename: basename(path), content: await readFile(path, 'utf8') })),
        );
        const { messageId } = await connectors.mailer.send({
          from: reports.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          attachments,
          messageId: mail.messageId,
        });
        ctx.heartbeat({ sent: mail.messageId, at: new Date().toISOString() } satisfies SentMark);
        logger.info({ org: mail.org, messageId }, 'report e-mail sent');
        return { sent: true };
      });
    },
  };
}
