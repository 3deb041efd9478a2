/**
 * The checks a staged migration makes before it touches anything: per batch
 * (preflight) and per row (verifyMeu). Each failure is the MailferryError whose
 * code and fix the admin sees in the validation report.
 */
import { MailferryError } from '../../shared/errors';
import { meetsPasswordPolicy } from './password';
import type { CloudDirectory, CloudRecipient, SourceDirectory, SourceMailbox, TenantInfo } from './types';
import { supportsStagedMigration } from './version';

export interface MeuCheck {
  address: string;
  forceChangePassword: boolean;
  password?: string;
}

export interface MeuFound {
  source: SourceMailbox;
  cloud: CloudRecipient;
  /** the row was converted by an earlier run: not an error, the next steps only re-apply */
  alreadyMailbox: boolean;
  federated: boolean;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

function includesDomain(domains: string[], domain: string): boolean {
  return domains.some((d) => d.toLowerCase() === domain);
}

/** a read started now and judged later: its failure is thrown only where the sequential check would have met it */
function settle<T>(p: Promise<T>): () => Promise<T> {
  const outcome = p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return async () => {
    const o = await outcome;
    if (!o.ok) throw o.error;
    return o.value;
  };
}

/**
 * The three reads (the source mailbox, the tenant, the cloud recipient) go out
 * at once, one round trip instead of three in a row; the checks then run in
 * the order the admin's errors are ranked, so a row gets the same error as if
 * each read waited for the one before (a read the first failing check made
 * needless is not looked at).
 */
export async function verifyMeu(source: SourceDirectory, cloud: CloudDirectory, row: MeuCheck): Promise<MeuFound> {
  const { address } = row;
  const mailboxRead = settle(source.findMailbox(address));
  const tenantRead = settle(cloud.tenant());
  const recipientRead = settle(cloud.findRecipient(address));
  const mailbox = await mailboxRead();
  if (!mailbox) {
    throw new MailferryError('SOURCE_MAILBOX_NOT_FOUND', `No on-premises mailbox has the address ${address}.`);
  }
  if (mailbox.umEnabled) {
    throw new MailferryError('UM_ENABLED', `The on-premises mailbox ${address} is enabled for unified messaging.`);
  }
  const tenant = await tenantRead();
  const domain = domainOf(address);
  if (includesDomain(tenant.unverifiedDomains ?? [], domain)) {
    throw new MailferryError('DOMAIN_NOT_VERIFIED', `${domain} (of ${address}) is added to the cloud organisation but not verified.`);
  }
  if (!includesDomain(tenant.acceptedDomains, domain)) {
    throw new MailferryError('DOMAIN_NOT_ACCEPTED', `${domain} (of ${address}) is not an accepted domain of the cloud organisation.`);
  }
  const federated = includesDomain(tenant.federatedDomains, domain);
  if (federated && row.forceChangePassword) {
    throw new MailferryError('FEDERATED_FORCE_CHANGE', `${address} is in the federated domain ${domain}, so ForceChangePassword cannot be True.`);
  }
  if (row.password !== undefined && !meetsPasswordPolicy(row.password)) {
    throw new MailferryError('PASSWORD_POLICY', `The password given for ${address} does not meet the cloud password policy.`);
  }
  const recipient = await recipientRead();
  if (!recipient) {
    throw new MailferryError('MEU_NOT_FOUND', `The cloud organisation has no mail-enabled user for ${address}.`);
  }
  if (recipient.directorySynced && row.password !== undefined) {
    throw new MailferryError(
      'PASSWORD_SYNCED_USER',
      `${address} is synchronised from the on-premises directory: its password must be set on premises, not in the CSV.`,
    );
  }
  const alreadyMailbox = recipient.recipientType === 'UserMailbox';
  if (!alreadyMailbox && mailbox.recipientType !== 'UserMailbox') {
    // the cloud still holds an MEU but on-premises there is no mailbox to move
    throw new MailferryError('SOURCE_MAILBOX_NOT_FOUND', `${address} is a mail-enabled user on-premises, not a mailbox: there is nothing to migrate.`);
  }
  return { source: mailbox, cloud: recipient, alreadyMailbox, federated };
}

export interface PreflightResult {
  serverVersion: string;
  tenant: TenantInfo;
}

export async function preflight(source: SourceDirectory, cloud: CloudDirectory): Promise<PreflightResult> {
  const tenant = await cloud.tenant();
  if (!tenant.dirSyncEnabled) {
    throw new MailferryError(
      'DIRSYNC_DISABLED',
      'Directory synchronisation is not enabled for the cloud organisation; a staged migration needs it, because directory synchronisation creates the mail-enabled users the migration converts to mailboxes.',
    );
  }
  await cloud.preflight?.();
  const serverVersion = await source.serverVersion();
  if (!supportsStagedMigration(serverVersion)) {
    throw new MailferryError(
      'UNSUPPORTED_SOURCE_VERSION',
      `The on-premises server reports "${serverVersion || 'no version'}"; a staged migration accepts Exchange 2003 and Exchange 2007 only.`,
    );
  }
  return { serverVersion, tenant };
}
