/**
 * What activities are built from. The worker injects real connectors; a
 * narrow unit test may inject its own. Nothing here knows about Temporal's
 * client: the ledger is a connector like any other.
 */
import type { Logger } from 'pino';
import type { DavCopier, DavEndpoint } from '../connectors/dav/types';
import type { GraphPimCopier } from '../connectors/m365/pim/copy';
import type { CloudDirectory, SourceDirectory } from '../connectors/directory/types';
import type { Ledger } from '../connectors/ledger/types';
import type { ImapEndpoint, MailCopier } from '../connectors/mail/types';
import type { ReportMailer } from '../connectors/smtp/types';
import type { OrgSecrets } from '../shared/secrets';
import type { ConnectionSettings } from '../shared/domain';

export interface Connectors {
  /** opened per call from the organisation's settings; the caller closes it */
  sourceDirectory(settings: ConnectionSettings): SourceDirectory;
  /** the organisation's target (settings.target): Microsoft Graph for m365, else the generic LDAP one */
  cloudDirectory(settings: ConnectionSettings): CloudDirectory;
  /** admin (master-user) access to one source mailbox */
  sourceImap(settings: ConnectionSettings, address: string): ImapEndpoint;
  /** the organisation's target mailbox: master-user login (generic) or the app's token (m365) */
  targetImap(settings: ConnectionSettings, address: string): ImapEndpoint;
  sourceDav(settings: ConnectionSettings): DavEndpoint;
  targetDav(): DavEndpoint;
  mail: MailCopier;
  dav: DavCopier;
  /** contacts and calendars into Microsoft Graph when the organisation's target is m365; null: into the cloud DAV server (`dav`) */
  graphPim(settings: ConnectionSettings): GraphPimCopier | null;
  mailer: ReportMailer;
  ledger: Ledger;
}

export interface ActivityDeps {
  connectors: Connectors;
  /** bound to the organisation of the run the activity serves (worker/runSecrets.ts) */
  secrets: OrgSecrets;
  reports: { dir: string; from: string };
  logger: Logger;
}
