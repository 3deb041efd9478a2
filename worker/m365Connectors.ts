/**
 * The Microsoft 365 target's connectors (Graph directory and PIM, Exchange
 * Online IMAP with app-only tokens). Loaded by worker/connectors.ts only when
 * an organisation's target is m365: msal-node, the Graph client and ical.js
 * are then required, and a worker whose organisations use the generic target
 * never holds them (about 8 MB of heap at idle).
 */
import { createHash } from 'node:crypto';
import { createGraphDirectory } from '../connectors/m365/directory';
import { createGraphClient, GRAPH_URL } from '../connectors/m365/graph';
import { createGraphPimCopier } from '../connectors/m365/pim/copy';
import { createTokenProvider, GRAPH_SCOPE, IMAP_SCOPE, type TokenProvider } from '../connectors/m365/token';
import { appEndpoint } from '../connectors/mail';
import type { ImapEndpoint } from '../connectors/mail/types';
import type { M365TargetSettings } from '../shared/domain';
import type { OrgSecrets } from '../shared/secrets';

/**
 * One token provider per app registration and certificate, so msal-node's
 * cache serves every activity of this worker until the token nears expiry.
 */
export function m365Tokens(secrets: OrgSecrets) {
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

/** The PIM copier of an m365 target: contacts and calendars through Graph. */
export function graphPimCopier(target: M365TargetSettings, tokens: TokenProvider) {
  return createGraphPimCopier({
    app: target.clientId,
    baseUrl: target.graphUrl ?? GRAPH_URL,
    accessToken: async () => (await tokens.getToken(GRAPH_SCOPE)).token,
    sendInvitations: target.sendInvitations,
    floatingTimeZone: target.floatingTimeZone,
  });
}
