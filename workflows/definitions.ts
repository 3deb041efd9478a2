/**
 * Everything the client and the workflows share: inputs, results, signals,
 * queries and updates. The client imports these very objects, so a renamed
 * signal cannot drift between the two sides.
 *
 * Secrets never appear here in plaintext: a `Sealed` string is encrypted by the
 * client with the organisation's key (shared/secrets.ts) and opened only inside
 * activities, so even a decoded payload in the Web UI shows ciphertext.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** `sealed:v1:<keyId>:<base64>`: ciphertext only activities can open. */
export type Sealed = string;

export const STEPS = ['verifyMeu', 'convertToMailbox', 'setTargetAddress', 'copyData'] as const;
export type Step = (typeof STEPS)[number];
export const PROVISIONING_STEPS: readonly Step[] = ['verifyMeu', 'convertToMailbox', 'setTargetAddress'];

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
    imap: Endpoint & { allowPlaintext?: boolean };
    /** the Dovecot master-user login of the admin, used as `<mailbox>*<masterUser>` */
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

/** What a re-run does with a row, from the ledger (DESIGN 9). */
export type RowPlan = { kind: 'new' } | { kind: 'resume'; from: Step; checkpoint?: unknown } | { kind: 'resetTargetAddress' };

export interface CopyTotals {
  messagesCopied: number;
  bytesCopied: number;
  messagesExisting: number;
  badItems: number;
  contactsCopied: number;
  eventsCopied: number;
  /** reconnects of the latest copy run only (throttling, dropped sessions): what adaptive concurrency reacts to */
  reconnects?: number;
}

/** The record a mailbox run leaves behind: the ledger entry of that address. */
export interface MailboxOutcome {
  address: string;
  batch: number;
  state: RowState;
  /** the last step that finished, null when none did */
  lastCompletedStep: Step | null;
  failedStep?: Step;
  error?: RowError;
  /** opaque copy checkpoint, carried so a failed copy resumes instead of starting over */
  checkpoint?: unknown;
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
  checkpoint?: unknown;
  previous?: Pick<MailboxOutcome, 'copy' | 'previousTargetAddress'>;
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
  checkpoint?: unknown;
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
  rows: Array<Omit<BatchRow, 'password' | 'checkpoint'> & { fix?: string }>;
  reports: string[];
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

export const batchStatusQuery = defineQuery<BatchStatus>('status');
export const stopBatchSignal = defineSignal<[{ by: string; reason?: string }]>('stop');
/** Changes the sliding window of a running batch (1–10); in-flight rows above a lowered cap finish first. */
/** `batch add --csv F`: validates the CSV's rows like a batch start and queues the new ones; returns what it did. */
export const addRowsUpdate = defineUpdate<{ added: number; rejected: ValidationIssue[] }, [{ fileName: string; csv: Sealed }]>('addRows');
export const setConcurrencyUpdate = defineUpdate<{ previous: number; now: number }, [number]>('setConcurrency');

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
}

export const organisationStateQuery = defineQuery<OrganisationState>('state');
/** Tests the settings (connection test + preflight) before keeping them; refuses with the test's error. */
export const setSettingsUpdate = defineUpdate<{ testedAt: string; serverVersion: string }, [ConnectionSettings]>('setSettings');
/** Returns the new batch's number and workflow ID, or refuses (one active batch at a time, no settings). */
export const startBatchUpdate = defineUpdate<{ batch: number; workflowId: string }, [StartBatchRequest]>('startBatch');
/** convert-to-meu: starts `<org>/convert/<n>` (workflows/convert.ts) and returns its ID; the client waits for its result. */
export const convertToMeuUpdate = defineUpdate<{ workflowId: string }, [{ by: string; mailboxes?: string[]; batch?: number }]>(
  'convertToMeu',
);
/** rollback: refused unless the mailbox's copy completed; starts the mailbox's `rollback` run and returns its ID. */
export const rollbackMailboxUpdate = defineUpdate<{ workflowId: string }, [{ by: string; address: string }]>('rollbackMailbox');

export interface CompleteMigrationResult {
  notMigrated: { address: string; reason: string }[];
  mailboxes: number;
  batchRecordsDeleted: number;
  reports: string[];
}
/** Complete Migration (DESIGN 11): refused while a batch is active; the organisation workflow ends after it. */
export const completeMigrationUpdate = defineUpdate<CompleteMigrationResult, [{ by: string }]>('completeMigration');

/** Sent by a batch workflow when it ends, so the organisation frees the active slot. */
export const batchFinishedSignal = defineSignal<[BatchResult]>('batchFinished');

// ---------------------------------------------------------------------------
// IDs: business keys, so the Web UI reads like the domain

export const TASK_QUEUE = 'mailferry';
export const organisationWorkflowId = (org: string): string => org;
export const batchWorkflowId = (org: string, batch: number): string => `${org}/batch/${batch}`;
export const mailboxWorkflowId = (org: string, address: string): string => `${org}/mailbox/${address.toLowerCase()}`;

/** An org name goes into workflow IDs, report paths and e-mail subjects. */
export const ORG_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
