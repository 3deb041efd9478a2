/** What mailferry needs of the on-premises and cloud directories (LDAP in the lab). */

export type RecipientType = 'UserMailbox' | 'MailUser';

export interface SourceMailbox {
  dn: string;
  address: string;
  displayName: string;
  recipientType: RecipientType;
  targetAddress: string | null;
  proxyAddresses: string[];
  legacyExchangeDN: string;
  umEnabled: boolean;
  /** msExchMailboxGuid (Exchange's ExchangeGuid), from its .NET byte order; null where the directory has none */
  mailboxGuid: string | null;
  /** the AD object's objectGUID */
  objectGuid: string | null;
}

export interface CloudRecipient {
  dn: string;
  address: string;
  recipientType: RecipientType;
  proxyAddresses: string[];
  targetAddress: string | null;
  /** given when it becomes a mailbox; null on a mail user that never was one */
  legacyExchangeDN: string | null;
  forceChangePassword: boolean;
  /** mastered on premises (directory synchronisation): its password cannot be set in the cloud; absent where unknown */
  directorySynced?: boolean;
}

/** Whether the cloud mailbox exists yet (Exchange Online creates it some time after the licence). */
export type MailboxStatus =
  | { state: 'ready' }
  /** since: when the licence's Exchange plan was assigned, ISO; null when not known */
  | { state: 'pending'; since: string | null }
  /** licensed and provisioned, yet no mailbox: the on-premises msExchMailboxGuid is synced */
  | { state: 'exchangeGuidSynced'; detail: string };

export interface TenantInfo {
  dirSyncEnabled: boolean;
  acceptedDomains: string[];
  federatedDomains: string[];
  /** domains added to the tenant but not verified (Graph); absent where the directory cannot tell */
  unverifiedDomains?: string[];
}

/** What an idempotent operation found and did. */
export interface ChangeResult {
  changed: boolean;
  /** the value before, where the operation replaces one (e.g. the previous targetAddress) */
  previous: string | null;
  detail: string;
  /** the change is made but takes effect later (a licence: the mailbox follows); the caller waits with mailboxStatus */
  pending?: boolean;
}

export interface SourceDirectory {
  serverVersion(): Promise<string>;
  findMailbox(address: string): Promise<SourceMailbox | null>;
  listRecipients(): Promise<SourceMailbox[]>;
  setTargetAddress(address: string, target: string): Promise<ChangeResult>;
  /** restores `previous` when given, else clears the attribute */
  restoreTargetAddress(address: string, previous: string | null): Promise<ChangeResult>;
  /** mailbox → mail user; keeps targetAddress, copies the cloud proxy addresses, adds X500:<legacyExchangeDN> of the old and the cloud mailbox */
  convertToMailUser(address: string, cloud: { proxyAddresses: string[]; legacyExchangeDN: string | null }): Promise<ChangeResult>;
  close(): Promise<void>;
}

export interface CloudDirectory {
  tenant(): Promise<TenantInfo>;
  findRecipient(address: string): Promise<CloudRecipient | null>;
  listRecipients(): Promise<CloudRecipient[]>;
  /** MEU → mailbox, with a legacyExchangeDN where it has none; password may be absent (the CSV column is optional) */
  convertToMailbox(address: string, options: { password?: string; forceChangePassword: boolean }): Promise<ChangeResult>;
  /** the cloud routing address TargetAddress points to, e.g. `pilarp@tailspintoys.mail.cloud.test` */
  routingAddress(address: string): string;
  /** batch-level checks of the target beyond tenant() (e.g. the licence of the settings); throws the refusal */
  preflight?(): Promise<void>;
  /** after a `pending` convertToMailbox; directories that convert at once have none */
  mailboxStatus?(address: string): Promise<MailboxStatus>;
  close(): Promise<void>;
}
