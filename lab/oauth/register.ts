/**
 * The lab tenant's app registration, made once per lab directory and kept
 * (like the lab's passwords): a tenant id, the tenant's token-signing key, and
 * the mailferry app with its certificate and the application permissions an
 * admin would consent to (IMAP.AccessAsApp on Exchange Online; the Graph
 * permissions the directory and PIM connectors use). The token endpoint's
 * configuration and the key the cloud Dovecot validates tokens with are
 * derived from it.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8 } from 'jose';
import type { M365App } from '../../connectors/m365/token';
import { LAB_HOST, PORTS, paths } from '../config';
import type { LabInfo } from '../info';
import { run } from '../proc';
import { ensureServerCertificate } from '../tls';
import { tokenServerConfigSchema, type LabApp, type TokenServerConfig } from './server';

export const OUTLOOK_RESOURCE = 'https://outlook.office365.com';
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';

/** Application permissions (roles) of the lab app, per resource, as granted with admin consent. */
export const LAB_APP_ROLES: Record<string, string[]> = {
  [OUTLOOK_RESOURCE]: ['IMAP.AccessAsApp'],
  [GRAPH_RESOURCE]: [
    'Organization.Read.All',
    'Domain.Read.All',
    'User.ReadWrite.All',
    'Directory.ReadWrite.All',
    'MailboxSettings.Read',
    'Contacts.ReadWrite',
    'Calendars.ReadWrite',
  ],
};

/** MAILFERRY_LAB_TOKEN_LIFETIME: seconds an access token of the lab app is valid (Entra ID's default is 60–90 minutes). */
function tokenLifetime(): number {
  const raw = process.env.MAILFERRY_LAB_TOKEN_LIFETIME;
  if (raw === undefined || raw === '') return 3600;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 5) throw new Error(`MAILFERRY_LAB_TOKEN_LIFETIME must be a whole number of seconds ≥ 5 (got "${raw}")`);
  return n;
}

export const oauthPaths = () => {
  const dir = join(paths.root, 'oauth');
  return {
    dir,
    config: join(dir, 'token-server.json'),
    signingKey: join(dir, 'signing.key'),
    signingPublicKey: join(dir, 'signing.pub.pem'),
    appCertificate: join(dir, 'mailferry-app.pem'),
    appKey: join(dir, 'mailferry-app.key'),
    log: join(paths.logs, 'oauth.log'),
  };
};

const thumbprint = (pem: string, algorithm: 'sha256' | 'sha1') =>
  (algorithm === 'sha256' ? new X509Certificate(pem).fingerprint256 : new X509Certificate(pem).fingerprint).replace(/:/g, '').toLowerCase();

async function ensureSigningKey(p: ReturnType<typeof oauthPaths>): Promise<string> {
  if (!existsSync(p.signingKey)) {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    writeFileSync(p.signingKey, await exportPKCS8(privateKey), { mode: 0o600 });
    writeFileSync(p.signingPublicKey, await exportSPKI(publicKey));
  }
  const key = await importPKCS8(readFileSync(p.signingKey, 'utf8'), 'RS256', { extractable: true });
  const { kty, n, e } = await exportJWK(key);
  return calculateJwkThumbprint({ kty, n, e });
}

function ensureAppCertificate(p: ReturnType<typeof oauthPaths>): void {
  if (existsSync(p.appCertificate) && existsSync(p.appKey)) return;
  // the certificate an admin uploads to the app registration; mailferry keeps its private key
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p.appKey, '-out', p.appCertificate, '-days', '3650', '-subj', '/CN=mailferry lab app']);
  run('chmod', ['600', p.appKey]);
}

function previousConfig(file: string): TokenServerConfig | null {
  if (!existsSync(file)) return null;
  const parsed = tokenServerConfigSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : null;
}

/** Writes (or refreshes) the token endpoint's configuration; ids and keys survive, ports and lifetime follow the environment. */
export async function ensureRegistration(): Promise<TokenServerConfig> {
  const p = oauthPaths();
  mkdirSync(p.dir, { recursive: true });
  const kid = await ensureSigningKey(p);
  ensureAppCertificate(p);
  const tls = ensureServerCertificate(p.dir, 'token-endpoint');
  const previous = previousConfig(p.config);
  const pem = readFileSync(p.appCertificate, 'utf8');
  const app: LabApp = {
    name: 'mailferry',
    clientId: previous?.apps[0]?.clientId ?? randomUUID(),
    servicePrincipalId: previous?.apps[0]?.servicePrincipalId ?? randomUUID(),
    certificateFile: p.appCertificate,
    thumbprintSha256: thumbprint(pem, 'sha256'),
    thumbprintSha1: thumbprint(pem, 'sha1'),
    roles: LAB_APP_ROLES,
    tokenLifetimeSeconds: tokenLifetime(),
  };
  const config: TokenServerConfig = {
    host: LAB_HOST,
    port: PORTS.oauth,
    tenantId: previous?.tenantId ?? randomUUID(),
    tls: { cert: tls.cert, key: tls.key },
    signingKeyFile: p.signingKey,
    kid,
    apps: [app],
  };
  writeFileSync(p.config, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return config;
}

export function readRegistration(): TokenServerConfig {
  const config = previousConfig(oauthPaths().config);
  if (!config) throw new Error(`no lab app registration in ${oauthPaths().config}: run \`lab:up\``);
  return config;
}

/** The lab's app, from the lab info, as connectors/m365/token.ts takes an app. */
export function labM365App(m365: LabInfo['m365']): M365App {
  return {
    tenantId: m365.tenantId,
    clientId: m365.app.clientId,
    certificateFile: m365.app.certificateFile,
    privateKeyFile: m365.app.privateKeyFile,
    authorityHost: m365.authorityHost,
    caFile: m365.caFile,
  };
}
