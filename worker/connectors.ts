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
import type { OrgSecrets } from '../shared/secrets';
import type { WorkerEnv } from './config';

export function createConnectors(env: WorkerEnv, secrets: OrgSecrets, client: Client): Connectors {
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
    cloudDirectory: () =>
      createCloudDirectory({
        url: env.MAILFERRY_CLOUD_LDAP_URL,
        suffix: env.MAILFERRY_CLOUD_LDAP_BASE_DN,
        bindDn: env.MAILFERRY_CLOUD_LDAP_BIND_DN,
        password: env.MAILFERRY_CLOUD_LDAP_PASSWORD,
        routingDomain: env.MAILFERRY_CLOUD_ROUTING_DOMAIN,
        allowPlaintext: env.MAILFERRY_CLOUD_ALLOW_PLAINTEXT,
      }),
    sourceImap: (settings, address) => {
      const { adminLogin, ...server } = settings.source.imap;
      return adminEndpoint(server, { user: settings.source.masterUser, password: secrets.unseal(settings.password) }, address, adminLogin);
    },
    targetImap: (address) =>
      adminEndpoint(
        {
          host: env.MAILFERRY_CLOUD_IMAP_HOST,
          port: env.MAILFERRY_CLOUD_IMAP_PORT,
          secure: env.MAILFERRY_CLOUD_IMAP_SECURE,
          allowPlaintext: env.MAILFERRY_CLOUD_ALLOW_PLAINTEXT,
        },
        { user: env.MAILFERRY_CLOUD_IMAP_MASTER_USER, password: env.MAILFERRY_CLOUD_IMAP_PASSWORD },
        address,
      ),
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
