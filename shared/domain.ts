/**
 * The domain as activities, connectors, the CLI and the workflows all see it:
 * settings, rows, outcomes, states, steps, the mailbox record and the
 * business-key workflow IDs. Plain types and functions only: nothing here
 * imports Temporal, so code outside `workflows/` never loads workflow code.
 *
 * Secrets never appear here in plaintext: a `Sealed` string is encrypted by the
 * client with the organisation's key (shared/secrets.ts) and opened only inside
 * activities, so even a decoded payload in the Web UI shows ciphertext.
 */

/** `sealed:v2:<keyId>:<org>:<base64>`: ciphertext bound to its organisation that only activities can open. */
export type Sealed = string;

export const STEPS = ['verifyMeu', 'convertToMailbox', 'setTargetAddress', 'copyData'] as const;
export type Step = (typeof STEPS)[number];
export const PROVISIONING_STEPS: readonly Step[] = ['verifyMeu', 'convertToMailbox', 'setTargetAddress'];
export type ProvisioningStep = 'verifyMeu' | 'convertToMailbox' | 'setTargetAddress';

/**
 * provisionMailbox's heartbeat details and failure details: the sub-step it is at (a retry resumes there) or the one
 * that failed, so the record names it.
 */
export interface ProvisioningProgress {
  step: ProvisioningStep;
}

/** A row's state as the Web UI's MailferryState search attribute and `status` show it. */
export type RowState =
  | 'queued'
  | 'provisioning'
  | 'ready'
  | 'copying'
  | 'completed'
  | 'failed'
  | 'stopped'
  | 'skipped'
  /** forwarding undone by `mailbox rollback`: mail flows on-premises again, the cloud copy stays */
  | 'rolledBack';

// ---------------------------------------------------------------------------
// Connection settings (DESIGN 1), kept by the organisation workflow

export interface Endpoint {
  host: string;
  port: number;
  secure: boolean;
}

/**
 * How an administrator opens another user's mailbox: `authzid` is SASL PLAIN
 * with the admin as authentication and the mailbox as authorisation identity
 * (Exchange 2007–2019, Dovecot master users); `exchange-path` is Exchange's
 * `DOMAIN\admin\alias` user name; `master` is Dovecot's `<mailbox>*<admin>`.
 */
export const ADMIN_LOGINS = ['authzid', 'exchange-path', 'master'] as const;
export type AdminLogin = (typeof ADMIN_LOGINS)[number];

export interface ConnectionSettings {
  adminEmail: string;
  /** `DOMAIN\user` or a UPN, as the seed allows */
  username: string;
  password: Sealed;
  mode: 'autodiscover' | 'manual';
  /** manual mode: the Exchange server and RPC proxy FQDNs */
  exchangeServer?: string;
  rpcProxyServer?: string;
  /** where the source organisation answers each protocol (autodiscover fills these) */
  source: {
    /** adminLogin: how the admin opens each mailbox (absent in settings kept before it existed: `master`) */
    imap: Endpoint & { allowPlaintext?: boolean; adminLogin?: AdminLogin };
    /** the admin's login name for mailbox access: the authentication identity, `DOMAIN\admin` for `exchange-path` */
    masterUser: string;
    /** allowPlaintext: the admin's explicit consent to send a password without TLS to a host other than this machine */
    /**
     * bindDn: a DN, `DOMAIN\\user` or a UPN; caFile: PEM of the CA that signed the directory's certificate (verification is always on);
     * startTls: upgrade ldap:// before binding; attributeMap: `exchange` (Active Directory with Exchange's schema, the default) or `ldap`
     */
    directory: {
      url: string;
      baseDn: string;
      bindDn: string;
      password?: Sealed;
      allowPlaintext?: boolean;
      caFile?: string;
      startTls?: boolean;
      attributeMap?: 'exchange' | 'ldap';
    };
    dav: { url: string; user: string; password?: Sealed; allowPlaintext?: boolean };
  };
  maxConcurrentMailboxes: number;
  /** the cloud side; absent: the generic LDAP/IMAP/DAV target of the worker's environment */
  target?: TargetSettings;
  /** which mail the copy takes and where it puts it; a batch's own rules override these one by one */
  copyRules?: CopyRules;
}

/** Which connector set the cloud side uses (worker/connectors.ts chooses by `kind`). */
export type TargetSettings = { kind: 'generic' } | M365TargetSettings;

/** A Microsoft 365 tenant, reached with an app registration's certificate (app-only). */
export interface M365TargetSettings {
  kind: 'm365';
  /** directory (tenant) id */
  tenantId: string;
  clientId: string;
  /** PEM of the app's certificate and private key */
  certificate: Sealed;
  /** default https://login.microsoftonline.com; the lab's token endpoint in tests */
  authorityHost?: string;
  /** PEM file of an extra CA for the authority (the lab CA) */
  caFile?: string;
  /** default https://graph.microsoft.com; the lab's stand-in in tests */
  graphUrl?: string;
  /** mail over IMAP with the app's token; default outlook.office365.com:993 (TLS), the lab's cloud Dovecot in tests */
  imap?: Endpoint & { allowPlaintext?: boolean };
  /** the mailboxes' MaxReceiveSize in bytes (default Exchange Online's 35 MB): a larger message is a bad item */
  maxReceiveSizeBytes?: number;
  /** the tenant's routing domain TargetAddress points to, e.g. `contoso.mail.onmicrosoft.com` */
  routingDomain: string;
  /** the licence that turns an MEU into a mailbox: a SKU id of `GET /subscribedSkus` and service plan ids to leave off */
  license: { skuId: string; disabledPlans: string[] };
  /** ISO country code given to users without a usageLocation (a licence needs one) */
  usageLocation?: string;
  /** how long to wait for Exchange Online to create a mailbox after the licence (it documents up to 24 h) */
  provisioningTimeoutMinutes: number;
  /** how often to look */
  provisioningPollSeconds: number;
  /** a licence provisioned this long without a mailbox is the synced-msExchMailboxGuid case */
  exchangeGuidGraceMinutes: number;
  /**
   * create copied meetings with their attendees, which makes Exchange send each an invitation (default: without;
   * the attendee list is kept in the body and an extended property)
   */
  sendInvitations?: boolean;
  /** Windows time zone (or UTC) for floating times and all-day events of copied calendars; default UTC */
  floatingTimeZone?: string;
}

/**
 * The admin's copy rules: folder patterns (`*` one level, `**` any, `?` one
 * character, levels joined by `/`), folder renames (source path → target
 * path, the longest matching prefix wins) and message limits. Messages the
 * age or size rule leaves out are counted, never copied.
 */
export interface CopyRules {
  includeFolders?: string[];
  excludeFolders?: string[];
  renameFolders?: Record<string, string>;
  maxAgeDays?: number;
  maxMessageBytes?: number;
}

/** The organisation's rules with a batch's on top: each rule the batch gives replaces the organisation's. */
export function withCopyRules(settings: ConnectionSettings, batchRules: CopyRules | undefined): ConnectionSettings {
  if (!batchRules || Object.keys(batchRules).length === 0) return settings;
  return { ...settings, copyRules: { ...settings.copyRules, ...batchRules } };
}

/** One line per rule, as `settings show` and the reports print them; empty when every message is copied. */
export function describeCopyRules(rules: CopyRules | undefined): string[] {
  if (!rules) return [];
  const lines: string[] = [];
  if (rules.includeFolders?.length) lines.push(`only folders matching ${rules.includeFolders.join(', ')}`);
  if (rules.excludeFolders?.length) lines.push(`folders left out: ${rules.excludeFolders.join(', ')}`);
  for (const [from, to] of Object.entries(rules.renameFolders ?? {})) lines.push(`folder ${from} copied as ${to}`);
  if (rules.maxAgeDays !== undefined) lines.push(`messages older than ${rules.maxAgeDays} days left out`);
  if (rules.maxMessageBytes !== undefined) lines.push(`messages larger than ${rules.maxMessageBytes} bytes left out`);
  return lines;
}

// ---------------------------------------------------------------------------
// Rows, plans and outcomes

export interface CsvRow {
  line: number;
  address: string;
  password?: Sealed;
  forceChangePassword: boolean;
}

export interface RowError {
  code: string;
  message: string;
  fix: string;
}

/** What a re-run does with a row, from the record (DESIGN 9). */
export type RowPlan = { kind: 'new' } | { kind: 'resume'; from: Step } | { kind: 'resetTargetAddress' };

export interface CopyTotals {
  messagesCopied: number;
  bytesCopied: number;
  messagesExisting: number;
  badItems: number;
  contactsCopied: number;
  eventsCopied: number;
  /** Microsoft 365: copied meetings whose attendees got no invitation (kept in the body and an extended property instead) */
  meetingsNotInvited?: number;
  /** reconnects of the latest copy run only (throttling, dropped sessions): what adaptive concurrency reacts to */
  reconnects?: number;
  /** left out by the copy rules' age and size limits (latest pass; absent before the rules existed) */
  messagesSkipped?: number;
}

/**
 * Something the copy could not bring over, as the Migration Complete report
 * lists it: a message (folder, date, subject, why) or a contact or event
 * (collection, UID, summary, the target server's answer).
 */
export type BadItemEntry =
  | { kind: 'message'; folder: string; uid: number; date: string | null; subject: string | null; reason: string }
  | { kind: 'contact' | 'event'; collection: string; uid: string; summary: string; answer: string };

/**
 * What a copy activity had done when it failed, in its failure's details (or,
 * after a heartbeat timeout, its last heartbeat): the row's record keeps the
 * checkpoint, the counts and the bad items, so its report shows what was copied.
 */
export interface CopyFailureDetails {
  checkpoint?: unknown;
  copied?: Partial<Pick<CopyTotals, 'messagesCopied' | 'bytesCopied' | 'contactsCopied' | 'eventsCopied'>>;
  badItems?: BadItemEntry[];
}

/** Bad items listed in full per mailbox; past this only their number is kept ("and N more"). */
export const BAD_ITEMS_LISTED = 200;

/**
 * A mailbox's bad items over every pass (first copy, delta, resume), each
 * once: `items` in full up to BAD_ITEMS_LISTED, and a short key of each one
 * past that, so a later pass that meets it again does not count it twice.
 */
export interface BadItemList {
  items: BadItemEntry[];
  /** keys of the items not listed (BAD_ITEM_KEYS_KEPT at most); `more` counts them */
  moreKeys: string[];
  more: number;
}

/** Past this many unlisted items only a count grows (the copy's own bad-item limit fails a mailbox long before). */
const BAD_ITEM_KEYS_KEPT = 20_000;

const isDav = (item: BadItemEntry) => item.kind !== 'message';

/** `m…` for a message, `d…` for a contact or event: the kind survives in the short key */
function badItemKey(item: BadItemEntry): string {
  const raw = isDav(item) ? `${(item as { collection: string }).collection}|${item.uid}` : `${(item as { folder: string }).folder}|${item.uid}`;
  // FNV-1a: deterministic (the record workflow merges), short, no crypto in workflow code
  let h = 0x811c9dc5;
  for (let i = 0; i < raw.length; i++) h = Math.imul(h ^ raw.charCodeAt(i), 0x01000193) >>> 0;
  return `${isDav(item) ? 'd' : 'm'}${raw.length.toString(36)}.${h.toString(36)}`;
}

/**
 * Adds a pass's bad items to the list, each item once however many passes
 * meet it. `davSettled`: the pass's contacts and calendars copy ran to its
 * end, and such a copy meets every item again (the checkpoint of a resumed
 * one carries what its earlier runs met), so its list replaces the
 * contacts and events listed before: one the target took since drops off.
 * Messages are never met again (the mail checkpoint moves past them), so they stay.
 */
export function mergeBadItems(
  list: BadItemList | undefined,
  found: readonly BadItemEntry[],
  options: { davSettled?: boolean; listed?: number } = {},
): BadItemList {
  const listed = options.listed ?? BAD_ITEMS_LISTED;
  const keep = (item: BadItemEntry) => !options.davSettled || !isDav(item);
  const moreKeys = (list?.moreKeys ?? []).filter((k) => !options.davSettled || k.startsWith('m'));
  // keys are kept for every unlisted item up to BAD_ITEM_KEYS_KEPT; past that, what was dropped cannot be told apart
  const more = options.davSettled && list && list.more <= list.moreKeys.length ? moreKeys.length : (list?.more ?? 0);
  const out: BadItemList = { items: (list?.items ?? []).filter(keep), moreKeys, more };
  const known = new Set([...out.items.map(badItemKey), ...out.moreKeys]);
  for (const item of found) {
    const key = badItemKey(item);
    if (known.has(key)) continue;
    known.add(key);
    if (out.items.length < listed) out.items.push(item);
    else {
      out.more++;
      if (out.moreKeys.length < BAD_ITEM_KEYS_KEPT) out.moreKeys.push(key);
    }
  }
  return out;
}

export const badItemCount = (list: BadItemList | undefined): number => (list ? list.items.length + list.more : 0);

/** The record a mailbox run leaves behind: the ledger entry of that address. */
export interface MailboxOutcome {
  address: string;
  batch: number;
  state: RowState;
  /** the last step that finished, null when none did */
  lastCompletedStep: Step | null;
  failedStep?: Step;
  error?: RowError;
  /**
   * opaque copy checkpoint, so a failed copy resumes instead of starting over.
   * Kept by the record only: batches never carry it (1,000 rows × 50 folders
   * would outgrow a payload); the copy reads it from the record.
   */
  checkpoint?: unknown;
  /** the contacts and calendars copy's checkpoint (connectors/dav DavCheckpoint), kept by the record like `checkpoint` */
  davCheckpoint?: unknown;
  /** the bad items this run met; the record adds them to its list (MailboxRecord.badItems), batches never carry them */
  badItemsFound?: BadItemEntry[];
  /** this run's contacts and calendars copy ran to its end: its bad items are all the contacts and events not copied */
  davSettled?: boolean;
  copy?: CopyTotals;
  /** targetAddress before mailferry set it (for rollback) */
  previousTargetAddress?: string | null;
  password?: Sealed;
  forceChangePassword: boolean;
}

export type MailboxPhase = 'provision' | 'copy' | 'resetTargetAddress' | 'rollback';

export interface MailboxInput {
  org: string;
  batch: number;
  line: number;
  address: string;
  password?: Sealed;
  forceChangePassword: boolean;
  phase: MailboxPhase;
  /** the first step this run performs; earlier ones are done (from the ledger) */
  startAt: Step;
  previous?: Pick<MailboxOutcome, 'copy' | 'previousTargetAddress'>;
  /** a delta pass (`batch sync`, `--complete-after`'s last pass): flags changed on the source are set on the target too */
  delta?: boolean;
  settings: ConnectionSettings;
}

// ---------------------------------------------------------------------------
// Batch

export type BatchSource =
  | { kind: 'csv'; fileName: string; csv: Sealed }
  | { kind: 'resume'; mailboxes?: string[]; failedOfBatch?: number }
  /** a delta pass: copy again (only what is new) for every completed mailbox of `batch` */
  | { kind: 'sync'; batch: number };

/** Rows a batch run starts before it continues-as-new, keeping each run's history small (1,000 rows → 4+ runs). */
export const DEFAULT_ROWS_PER_RUN = 250;

export interface BatchInput {
  org: string;
  batch: number;
  startedBy: string;
  startedAt: string;
  notify: string[];
  settings: ConnectionSettings;
  source: BatchSource;
  /** rows started per run before continue-as-new (default DEFAULT_ROWS_PER_RUN) */
  rowsPerRun?: number;
  /** ISO time before which the batch waits (a durable timer `batch stop` cancels) */
  startAfter?: string;
  /** ISO time: after the copy, wait until then, make one last delta pass, then send Migration Complete */
  completeAfter?: string;
  /** halve the window when copies had to reconnect; raise it by one after `quietSeconds` without, up to the admin's cap */
  adaptive?: { quietSeconds: number };
  /** state carried over continue-as-new */
  carried?: BatchState;
}

export interface BatchRow {
  line: number;
  address: string;
  plan: RowPlan;
  state: RowState;
  step: Step | null;
  error?: RowError;
  copy?: CopyTotals;
  forceChangePassword: boolean;
  password?: Sealed;
  previousTargetAddress?: string | null;
}

export interface ValidationIssue {
  line: number;
  address: string;
  code: string;
  message: string;
  fix: string;
}

export type BatchPhase =
  | 'scheduled'
  | 'validating'
  | 'provisioning'
  | 'copying'
  /** `--complete-after`: copied, waiting for the time of the last delta pass */
  | 'awaitingCompletion'
  | 'stopping'
  | 'completed'
  | 'stopped'
  | 'failed';
export const FINISHED_PHASES: readonly BatchPhase[] = ['completed', 'stopped', 'failed'];

export interface BatchState {
  phase: BatchPhase;
  rows: BatchRow[];
  rejected: ValidationIssue[];
  stopRequested: boolean;
  reports: string[];
  readyMailSent: boolean;
  /** the sliding window's width now; starts at the settings' value, changed by `setConcurrency` */
  maxConcurrent: number;
  /** how many runs this batch has had (continue-as-new count + 1) */
  runs: number;
  /** the admin's cap (settings or `setConcurrency`): adaptive mode never goes above it */
  adminMax: number;
  /** workflow time (ms) of the last window change or throttled copy; adaptive raises only after a quiet period */
  lastAdaptAt: number;
  /** the latest adaptive changes, newest last (at most 20) */
  adaptiveLog: { at: string; from: number; to: number; reason: string }[];
  /** `--complete-after`'s last delta pass has been started */
  finalSyncDone?: boolean;
  /** finished copies so far, measured in workflow time: the basis of the ETA */
  copyStats: CopyStats;
  /** report e-mails handed to their own workflows (sent in the background, retried through an SMTP outage) */
  mail: ReportMailRef[];
}

export type ReportKind = 'mailboxesReady' | 'migrationComplete' | 'stopped';

/** A report e-mail ready to send: its files are on disk; the sender reads them, so the payload stays small. */
export interface PreparedMail {
  org: string;
  messageId: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  attachments: string[];
}

/** One report e-mail of a batch: its workflow sends it (once: a stable Message-ID, a sent mark checked first). */
export interface ReportMailRef {
  kind: ReportKind;
  workflowId: string;
  messageId: string;
  /** filled in by the CLI from the mail workflow's execution: pending until the SMTP server took it */
  delivery?: 'pending' | 'sent' | 'failed' | 'unknown';
}

export interface CopyStats {
  rows: number;
  seconds: number;
  bytes: number;
  messages: number;
}

/** An estimate, with what it rests on so nobody reads more into it than there is. */
export interface BatchEta {
  secondsLeft: number;
  finishesAt: string;
  basis: string;
}

export interface BatchStatus {
  org: string;
  batch: number;
  workflowId: string;
  startedAt: string;
  startedBy: string;
  phase: BatchPhase;
  total: number;
  created: number;
  active: number;
  failed: number;
  completed: number;
  waiting: number;
  rejected: ValidationIssue[];
  maxConcurrent: number;
  /** runs so far (continue-as-new count + 1) */
  runs: number;
  /** null until a copy has finished */
  eta: BatchEta | null;
  adaptive: { enabled: boolean; adminMax: number; log: BatchState['adaptiveLog'] };
  copyRate: { bytesPerSecond: number; messagesPerSecond: number } | null;
  rows: Array<Omit<BatchRow, 'password'> & { fix?: string }>;
  reports: string[];
  mail: ReportMailRef[];
  /** what every row of the batch copies under (its own rules over the organisation's), fixed when it started */
  copyRules?: CopyRules;
  /** set by the CLI when the batch's execution did not end by itself: terminated, timed out, cancelled */
  execution?: { status: string; note: string };
}

export interface BatchResult {
  batch: number;
  phase: BatchPhase;
  total: number;
  created: number;
  completed: number;
  failed: number;
  stopped: number;
  rejected: number;
  runs: number;
  messagesCopied: number;
  bytesCopied: number;
  reports: string[];
}

// ---------------------------------------------------------------------------
// Organisation

export interface BatchSummary {
  batch: number;
  workflowId: string;
  startedAt: string;
  startedBy: string;
  source: string;
  finished: boolean;
  result?: BatchResult;
  /** how the batch's execution ended, as the server says (COMPLETED, FAILED, TERMINATED, …), once reconciled */
  endedAs?: string;
}

export interface OrganisationState {
  org: string;
  settings: ConnectionSettings | null;
  settingsTestedAt: string | null;
  nextBatch: number;
  activeBatch: number | null;
  batches: BatchSummary[];
  completed: boolean;
  /** numbers the organisation's short operations (`<org>/convert/<n>`); absent in states carried before it existed */
  nextOperation?: number;
  /** Complete Migration is running: no batch starts meanwhile */
  completing?: boolean;
  /** Complete Migration's report, written before anything is cleaned up */
  finalReport?: FinalReport;
  /** Complete Migration's final e-mail went out (its workflow completed) */
  finalMailSent?: boolean;
  /** the latest check of the active batch's real state (a "finished" signal is never taken on trust) */
  lastReconcile?: { batch: number; at: string; status: string; freed: boolean; why: string };
  /** nonces of admin tokens used, until they expire: a destructive request replayed from history is refused */
  adminNonces?: { nonce: string; expiresAt: string }[];
}

export interface OrganisationInput {
  org: string;
  carried?: OrganisationState;
}

export interface StartBatchRequest {
  startedBy: string;
  notify: string[];
  source: BatchSource;
  rowsPerRun?: number;
  startAfter?: string;
  completeAfter?: string;
  adaptive?: { quietSeconds: number };
  /** this batch's copy rules, each replacing the organisation's rule of the same name */
  copyRules?: CopyRules;
}

/** Complete Migration's final report, kept by the organisation once written so a re-run reports the same mailboxes. */
export interface FinalReport {
  /** cloud MEUs whose on-premises mailbox mailferry never migrated (a warning, not a stop) */
  notMigrated: { address: string; reason: string }[];
  mailboxes: number;
  reports: string[];
  mail: PreparedMail;
}

export interface CompleteMigrationResult {
  notMigrated: { address: string; reason: string }[];
  mailboxes: number;
  batchRecordsDeleted: number;
  reports: string[];
}

// ---------------------------------------------------------------------------
// The mailbox record: one long-lived workflow per mailbox, open until Complete Migration

/** What the record of one mailbox holds: its latest outcome, every batch that ran it, the forwarding it replaced. */
export interface MailboxRecord {
  org: string;
  address: string;
  /** every batch that ran this mailbox, ascending */
  batches: number[];
  /** the latest run's outcome; null until a run reports (a first setTargetAddress may come before) */
  outcome: MailboxOutcome | null;
  /** the mailbox run that reported `outcome` */
  runId: string | null;
  /**
   * targetAddress before mailferry first changed it (null: none); kept once,
   * never overwritten by a retry or a re-run. Absent until mailferry changes it.
   */
  previousTargetAddress?: string | null;
  /** every bad item of every pass, each once (absent until a pass met one) */
  badItems?: BadItemList;
  updatedAt: string;
}

/**
 * What a record's start names (and its continue-as-new carries on): `publish: 'oncePerTask'`, its memo and search
 * attributes written once per workflow task. Records started before the field existed lack it; their histories say
 * how they publish (a patch marker, workflows/record.ts). Named in the input rather than by patched(): a patch costs
 * every new record run a marker and a search-attribute upsert.
 */
export interface RecordStart {
  org: string;
  address: string;
  publish?: 'oncePerTask';
}
export const recordStart = (org: string, address: string): RecordStart => ({ org, address, publish: 'oncePerTask' });

/** Handler names of the record workflow, for code that must not import workflows/definitions.ts. */
export const RECORD_WORKFLOW_TYPE = 'mailboxRecordWorkflow';
export const RECORD_HANDLERS = {
  query: 'record',
  outcome: 'recordOutcome',
  rememberPrevious: 'rememberPreviousTargetAddress',
  close: 'closeRecord',
} as const;

/** The record without checkpoints, bad-item list and password: the memo visibility lists return, small at 50,000 mailboxes. */
export type RecordSummary = Omit<MailboxRecord, 'outcome' | 'badItems'> & {
  outcome: Omit<MailboxOutcome, 'checkpoint' | 'davCheckpoint' | 'badItemsFound' | 'davSettled' | 'password'> | null;
};

export function summariseRecord(record: MailboxRecord): RecordSummary {
  const { badItems: _b, ...rest } = record;
  if (!record.outcome) return { ...rest, outcome: null };
  const { checkpoint: _c, davCheckpoint: _d, badItemsFound: _f, davSettled: _s, password: _p, ...outcome } = record.outcome;
  return { ...rest, outcome };
}

/** A record before any run reported to it. */
export function emptyRecord(org: string, address: string, at: string): MailboxRecord {
  return { org, address, batches: [], outcome: null, runId: null, updatedAt: at };
}

/** The record after a run reports `outcome` (the record workflow's signal, and the ledger's view of a record it creates). */
export function withOutcome(record: MailboxRecord, outcome: MailboxOutcome, runId: string, at: string): MailboxRecord {
  const { badItemsFound, davSettled, ...rest } = outcome;
  return {
    ...record,
    // a run that copied nothing yet (a reset, a rollback, a copy that failed before its first checkpoint) keeps the last one;
    // a finished contacts and calendars copy leaves null, so the next pass reads every collection again (new items)
    outcome: {
      ...rest,
      checkpoint: outcome.checkpoint ?? record.outcome?.checkpoint,
      davCheckpoint: outcome.davCheckpoint !== undefined ? outcome.davCheckpoint : record.outcome?.davCheckpoint,
    },
    // each pass's bad items join the list once: a repeated signal or a later pass meeting the same item adds nothing
    badItems:
      badItemsFound?.length || (davSettled && record.badItems) ? mergeBadItems(record.badItems, badItemsFound ?? [], { davSettled }) : record.badItems,
    runId,
    batches: record.batches.includes(outcome.batch) ? record.batches : [...record.batches, outcome.batch].sort((a, b) => a - b),
    // a run started before the record kept a previous value may still carry one: the first kept wins
    previousTargetAddress:
      record.previousTargetAddress === undefined && outcome.previousTargetAddress !== undefined
        ? outcome.previousTargetAddress
        : record.previousTargetAddress,
    updatedAt: at,
  };
}

/** A record's outcome as readers use it: the forwarding to restore is the record's, kept once. */
export function outcomeOfRecord(record: MailboxRecord): MailboxOutcome | null {
  if (!record.outcome) return null;
  return { ...record.outcome, previousTargetAddress: record.previousTargetAddress ?? record.outcome.previousTargetAddress };
}

/** The truthful outcome of a run that ended from outside: where its search attributes say it was, and how it ended. */
export function endedFromOutside(
  address: string,
  status: string,
  attrs: { step?: unknown; batch?: unknown },
  before: MailboxOutcome | null,
): MailboxOutcome {
  const step = typeof attrs.step === 'string' && (STEPS as readonly string[]).includes(attrs.step) ? (attrs.step as Step) : undefined;
  const failedStep: Step =
    step ?? (before?.lastCompletedStep ? (STEPS[STEPS.indexOf(before.lastCompletedStep) + 1] ?? 'copyData') : 'verifyMeu');
  return {
    address,
    batch: Number(attrs.batch ?? before?.batch ?? 0),
    state: 'failed',
    lastCompletedStep: STEPS.indexOf(failedStep) > 0 ? STEPS[STEPS.indexOf(failedStep) - 1] : null,
    failedStep,
    error: {
      code: status === 'CANCELED' ? 'CANCELLED' : status,
      message: `The run ended as ${status.toLowerCase().replace('_', ' ')} from outside mailferry during ${failedStep}; that step may be half done`,
      fix: 'Re-run the CSV or `mailferry batch resume --mailbox <address>`: the row resumes at that step.',
    },
    copy: before?.copy,
    previousTargetAddress: before?.previousTargetAddress,
    password: before?.password,
    forceChangePassword: before?.forceChangePassword ?? false,
  };
}

// ---------------------------------------------------------------------------
// IDs: business keys, so the Web UI reads like the domain

export const TASK_QUEUE = 'mailferry';
export const organisationWorkflowId = (org: string): string => org;
export const batchWorkflowId = (org: string, batch: number): string => `${org}/batch/${batch}`;
export const mailboxWorkflowId = (org: string, address: string): string => `${org}/mailbox/${address.toLowerCase()}`;
export const recordWorkflowId = (org: string, address: string): string => `${org}/record/${address.toLowerCase()}`;
export const reportMailWorkflowId = (org: string, batch: number, kind: ReportKind): string => `${org}/batch/${batch}/mail/${kind}`;
/** the organisation's n-th convert-to-meu operation */
export const convertWorkflowId = (org: string, n: number): string => `${org}/convert/${n}`;
/** the final e-mail of Complete Migration */
export const finalMailWorkflowId = (org: string): string => `${org}/final/mail`;
/** Stable per organisation, batch and report: a resent copy is the same message to every mail system. */
export const reportMessageId = (org: string, batch: number | 'final', kind: string): string =>
  `<${org}.batch-${batch}.${kind}@mailferry.invalid>`;

/** An org name goes into workflow IDs, report paths and e-mail subjects. */
export const ORG_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
