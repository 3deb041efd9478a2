/**
 * The real connectors, wired from the worker's environment (cloud side) and
 * each organisation's settings (source side, passwords sealed until here).
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Connectors } from '../activities/deps';
import { createDavCopier } from '../connectors/dav';
import { createCloudDirectory, createSourceDirectory } from '../connectors/directory';
import { createTemporalLedger } from '../connectors/ledger/temporal';
import { adminEndpoint, appEndpoint, createMailCopier } from '../connectors/mail';
import type { ImapEndpoint } from '../connectors/mail/types';
import { createReportMailer } from '../connectors/smtp';
import { createGraphDirectory } from '../connectors/m365/directory';
import { createGraphClient, GRAPH_URL } from '../connectors/m365/graph';
import { createGraphPimCopier } from '../connectors/m365/pim/copy';
import { createTokenProvider, GRAPH_SCOPE, IMAP_SCOPE, type TokenProvider } from '../connectors/m365/token';
import type { ConnectionSettings, M365TargetSettings } from '../shared/domain';
import type { OrgSecrets } from '../shared/secrets';
import type { WorkerEnv } from './config';

/**
 * The organisation's target, in one place: Microsoft 365 when its settings
 * say `target.kind` m365 (Graph for the directory; mail and PIM follow),
 * else the generic LDAP/IMAP/DAV target of the worker's environment.
 */
export function m365Target(settings: ConnectionSettings): M365TargetSettings | null {
  return settings.target?.kind === 'm365' ? settings.target : null;
}

/**
 * One token provider per app registration and certificate, so msal-node's
 * cache serves every activity of this worker until the token nears expiry.
 */
function m365Tokens(secrets: OrgSecrets) {
  const providers = new Map<string, TokenProvider>();
  return (target: M365TargetSettings): TokenProvider => {
    // opened every time: a value sealed for another organisation must fail here, not hit the cache
    const pem = secrets.unseal(target.certificate);
    const key = [target.tenantId, target.clientId, target.authorityHost ?? '', createHash('sha256').update(pem).digest('hex')].join('\0');
    let provider = providers.get(key);
    if (!provider) {
      provider = createTokenProvider({
        tenantId: target.tenantId,
        clientId: target.clientId,
        certificatePem: pem,
        authorityHost: target.authorityHost,
        caFile: target.caFile,
      });
      providers.set(key, provider);
    }
    return provider;
  };
}

export function graphDirectory(target: M365TargetSettings, tokens: TokenProvider) {
  return createGraphDirectory({
    graph: createGraphClient({ baseUrl: target.graphUrl ?? GRAPH_URL, accessToken: async () => (await tokens.getToken(GRAPH_SCOPE)).token }),
    routingDomain: target.routingDomain,
    license: target.license,
    usageLocation: target.usageLocation,
    exchangeGuidGraceMinutes: target.exchangeGuidGraceMinutes,
  });
}

export const EXCHANGE_ONLINE_IMAP = { host: 'outlook.office365.com', port: 993, secure: true } as const;
/** Exchange Online's default MaxReceiveSize for a mailbox: 35 MB (Set-Mailbox -MaxReceiveSize raises it up to 150 MB) */
export const EXCHANGE_MAX_RECEIVE_BYTES = 35 * 1024 * 1024;

/** A mailbox of the tenant, opened by the app itself (IMAP.AccessAsApp, FullAccess) with an app-only token. */
export function exchangeOnlineImap(target: Pick<M365TargetSettings, 'imap' | 'maxReceiveSizeBytes'>, tokens: TokenProvider, address: string): ImapEndpoint {
  return appEndpoint(
    { ...(target.imap ?? EXCHANGE_ONLINE_IMAP), maxMessageBytes: target.maxReceiveSizeBytes ?? EXCHANGE_MAX_RECEIVE_BYTES },
    address,
    () => tokens.getToken(IMAP_SCOPE),
  );
}

export function createConnectors(env: WorkerEnv, secrets: OrgSecrets, client: Client): Connectors {
  const tokensFor = m365Tokens(secrets);
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
      if (m365) return graphDirectory(m365, tokensFor(m365));
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
      if (m365) return exchangeOnlineImap(m365, tokensFor(m365), address);
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
      const tokens = tokensFor(m365);
      return createGraphPimCopier({
        app: m365.clientId,
        baseUrl: m365.graphUrl ?? GRAPH_URL,
        accessToken: async () => (await tokens.getToken(GRAPH_SCOPE)).token,
        sendInvitations: m365.sendInvitations,
        floatingTimeZone: m365.floatingTimeZone,
      });
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
