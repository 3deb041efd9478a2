/**
 * The real connectors, wired from the worker's environment (cloud side) and
 * each organisation's settings (source side, passwords sealed until here).
 */
import type { Client } from '@temporalio/client';
import type { Connectors } from '../activities/deps';
import { createDavCopier } from '../connectors/dav';
import { createCloudDirectory, createSourceDirectory } from '../connectors/directory';
import { createTemporalLedger } from '../connectors/ledger/temporal';
import { adminEndpoint, createMailCopier } from '../connectors/mail';
import { createReportMailer } from '../connectors/smtp';
import type { ConnectionSettings, M365TargetSettings } from '../shared/domain';
import type { OrgSecrets } from '../shared/secrets';
import type { WorkerEnv } from './config';

/** worker/m365Connectors.ts, required on first use only (see there why) */
const m365Connectors = (): typeof import('./m365Connectors') => require('./m365Connectors');

/**
 * The organisation's target, in one place: Microsoft 365 when its settings
 * say `target.kind` m365 (Graph for the directory; mail and PIM follow),
 * else the generic LDAP/IMAP/DAV target of the worker's environment.
 */
export function m365Target(settings: ConnectionSettings): M365TargetSettings | null {
  return settings.target?.kind === 'm365' ? settings.target : null;
}

export function createConnectors(env: WorkerEnv, secrets: OrgSecrets, client: Client): Connectors {
  let tokens: ((target: M365TargetSettings) => import('../connectors/m365/token').TokenProvider) | undefined;
  const tokensFor = (target: M365TargetSettings) => (tokens ??= m365Connectors().m365Tokens(secrets))(target);
  return {
    sourceDirectory: (settings) =>
      createSourceDirectory({
        url: settings.source.directory.url,
        suffix: settings.source.directory.baseDn,
        bindDn: settings.source.directory.bindDn,
        password: secrets.unseal(settings.source.directory.password ?? settings.password),
        allowPlaintext: settings.source.directory.allowPlaintext,
        caFile: settings.source.directory.caFile,
        startTls: settings.source.directory.startTls,
        attributeMap: settings.source.directory.attributeMap,
      }),
    cloudDirectory: (settings) => {
      const m365 = m365Target(settings);
      if (m365) return m365Connectors().graphDirectory(m365, tokensFor(m365));
      return createCloudDirectory({
        url: env.MAILFERRY_CLOUD_LDAP_URL,
        suffix: env.MAILFERRY_CLOUD_LDAP_BASE_DN,
        bindDn: env.MAILFERRY_CLOUD_LDAP_BIND_DN,
        password: env.MAILFERRY_CLOUD_LDAP_PASSWORD,
        routingDomain: env.MAILFERRY_CLOUD_ROUTING_DOMAIN,
        allowPlaintext: env.MAILFERRY_CLOUD_ALLOW_PLAINTEXT,
      });
    },
    sourceImap: (settings, address) => {
      const { adminLogin, ...server } = settings.source.imap;
      return adminEndpoint(server, { user: settings.source.masterUser, password: secrets.unseal(settings.password) }, address, adminLogin);
    },
    targetImap: (settings, address) => {
      const m365 = m365Target(settings);
      if (m365) return m365Connectors().exchangeOnlineImap(m365, tokensFor(m365), address);
      return adminEndpoint(
        {
          host: env.MAILFERRY_CLOUD_IMAP_HOST,
          port: env.MAILFERRY_CLOUD_IMAP_PORT,
          secure: env.MAILFERRY_CLOUD_IMAP_SECURE,
          allowPlaintext: env.MAILFERRY_CLOUD_ALLOW_PLAINTEXT,
        },
        { user: env.MAILFERRY_CLOUD_IMAP_MASTER_USER, password: env.MAILFERRY_CLOUD_IMAP_PASSWORD },
        address,
      );
    },
    sourceDav: (settings) => ({
      url: settings.source.dav.url,
      user: settings.source.dav.user,
      password: secrets.unseal(settings.source.dav.password ?? settings.password),
      allowPlaintext: settings.source.dav.allowPlaintext,
    }),
    targetDav: () => ({
      url: env.MAILFERRY_CLOUD_DAV_URL,
      user: env.MAILFERRY_CLOUD_DAV_USER,
      password: env.MAILFERRY_CLOUD_DAV_PASSWORD,
      allowPlaintext: env.MAILFERRY_CLOUD_ALLOW_PLAINTEXT,
    }),
    mail: createMailCopier(),
    dav: createDavCopier(),
    graphPim: (settings) => {
      const m365 = m365Target(settings);
      if (!m365) return null;
      return m365Connectors().graphPimCopier(m365, tokensFor(m365));
    },
    mailer: createReportMailer({
      host: env.MAILFERRY_SMTP_HOST,
      port: env.MAILFERRY_SMTP_PORT,
      secure: env.MAILFERRY_SMTP_SECURE,
      user: env.MAILFERRY_SMTP_USER,
      password: env.MAILFERRY_SMTP_PASSWORD,
      allowPlaintext: env.MAILFERRY_SMTP_ALLOW_PLAINTEXT,
    }),
    ledger: createTemporalLedger(client, { taskQueue: env.MAILFERRY_TASK_QUEUE }),
  };
}
