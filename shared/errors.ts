/**
 * Errors a person can act on. Every code appears in reports, in the CLI and
 * (as the ApplicationFailure type) in the Temporal Web UI, so an admin reading
 * any of them finds the same words and the same suggested fix.
 */
export const errorCodes = {
  // row-level, cannot heal by retrying
  SOURCE_MAILBOX_NOT_FOUND: 'Check the EmailAddress: it must be the primary SMTP address of an on-premises mailbox.',
  MEU_NOT_FOUND: 'Run directory synchronisation so the cloud has a mail-enabled user for this address, then re-run the row.',
  NOT_A_MAIL_USER: 'The cloud recipient exists but is not a mail-enabled user; remove or fix it in the cloud directory, then re-run.',
  DOMAIN_NOT_ACCEPTED: "Add the address's domain as an accepted domain of the cloud organisation, then re-run the row.",
  FEDERATED_FORCE_CHANGE: 'The domain is federated (single sign-on): set ForceChangePassword to False for this row.',
  UM_ENABLED: 'Disable unified messaging on the on-premises mailbox, migrate it, then enable UM again in the cloud.',
  PASSWORD_POLICY: 'Give a password of at least 8 characters with three of: upper case, lower case, digit, symbol.',
  DOMAIN_NOT_VERIFIED: "Verify the address's domain in the Microsoft 365 admin center (Settings > Domains), then re-run the row.",
  PASSWORD_SYNCED_USER:
    'The user is synchronised from the on-premises directory, so Microsoft 365 cannot set its password: remove the Password from this CSV row and set the password on premises (password hash sync carries it to the cloud).',
  LICENSE_NOT_FOUND: 'The tenant has no subscription with the licence SKU in the settings: set an owned SKU with `mailferry settings set --target m365 --sku <skuId>` (see `GET /subscribedSkus`).',
  LICENSE_WITHOUT_EXCHANGE:
    'The licence in the settings includes no Exchange Online mailbox plan (or it is disabled): choose a SKU with one (e.g. EXCHANGE_S_ENTERPRISE) and do not list that plan in --disabled-plans.',
  USAGE_LOCATION_MISSING: 'A licence needs a usage location: set it on the user or give a default with `mailferry settings set --target m365 --usage-location <country code>`.',
  EXCHANGE_GUID_SYNCED:
    "The user's on-premises msExchMailboxGuid is synchronised, so Exchange Online treats the mailbox as on-premises and a licence creates none. Clear msExchMailboxGuid on premises (or exclude it from directory synchronisation), synchronise, then resume the row.",
  MAILBOX_PROVISIONING: 'Exchange Online is still creating the mailbox after the licence was assigned; mailferry keeps checking until the provisioning timeout in the settings.',
  PROVISIONING_TIMEOUT:
    'Exchange Online did not create the mailbox within the provisioning timeout: check the user in the Microsoft 365 admin center (licence errors, provisioning errors), then resume the row or raise --provisioning-timeout.',
  GRAPH_REFUSED: 'Microsoft Graph refused the request: see the message (its error code says what to fix), fix it in the tenant, then resume the row.',
  // batch-level
  DIRSYNC_DISABLED: 'Staged migration needs directory synchronisation: enable it for the cloud organisation and start the batch again (or use a cutover migration).',
  UNSUPPORTED_SOURCE_VERSION: 'Staged migration supports Exchange 2003 and 2007 sources only; use a cutover migration or a hybrid deployment instead.',
  CONNECTION_FAILED: 'Check the server name, port and that the server is running; test again with `mailferry settings test`.',
  AUTH_FAILED: 'Check the migration administrator user name and password with `mailferry settings set`, then `mailferry settings test`.',
  FULL_ACCESS_DENIED:
    'Give the migration administrator Full Access to the mailbox (Add-MailboxPermission -Identity <mailbox> -User <admin> -AccessRights FullAccess), then test again or resume the row.',
  TLS_REQUIRED: 'The server requires TLS: enable TLS in the connection settings.',
  TOKEN_FAILED:
    'Microsoft 365 refused the app-only token: check the tenant id, the client id and that the certificate set with `mailferry settings set --target m365` is the one uploaded to the app registration, and that an admin consented to its permissions (AADSTS code in the message).',
  // copy
  COPY_FAILED: 'The data copy failed; resume the row with `mailferry batch resume --mailbox <address>`: it continues where it stopped.',
  BAD_ITEM_LIMIT: 'Too many items could not be copied; raise the bad-item limit or fix the listed items, then resume the row.',
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class MailferryError extends Error {
  readonly code: ErrorCode;
  readonly fix: string;
  /** false for errors that a retry can heal (a server that is down, a timeout) */
  readonly permanent: boolean;
  constructor(code: ErrorCode, message: string, options: { permanent?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'MailferryError';
    this.code = code;
    this.fix = errorCodes[code];
    this.permanent = options.permanent ?? true;
  }
}

export function suggestedFix(code: string | undefined): string {
  return code && code in errorCodes ? errorCodes[code as ErrorCode] : 'See the error message; fix the cause and resume the row.';
}
