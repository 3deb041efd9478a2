/**
 * App-only access tokens for Microsoft 365: the client-credentials grant
 * with a certificate, through msal-node's ConfidentialClientApplication.
 * One provider per app registration; each resource (Exchange Online for
 * IMAP, Microsoft Graph) gets its own token, asked for with
 * `<resource>/.default`. msal-node keeps the tokens in its in-memory cache and
 * fetches a new one when the cached one is within five minutes of expiry;
 * callers that hold a token for long (an IMAP session) ask `renewAt` when to
 * come back for a new one.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { ConfidentialClientApplication, LogLevel, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import { z } from 'zod';
import { MailferryError } from '../../shared/errors';

export const IMAP_SCOPE = 'https://outlook.office365.com/.default';
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

export const m365AppSchema = z.object({
  /** the directory (tenant) id, or a verified domain of the tenant */
  tenantId: z.string().min(1),
  clientId: z.string().uuid(),
  /** PEM file holding the certificate uploaded to the app registration and its private key (both may be one file) */
  certificateFile: z.string().min(1).optional(),
  /** the same PEM itself, as the organisation's sealed settings carry it (instead of certificateFile) */
  certificatePem: z.string().min(1).optional(),
  /** the private key, when it is not in certificateFile */
  privateKeyFile: z.string().min(1).optional(),
  /** default https://login.microsoftonline.com; the lab's token endpoint in tests */
  authorityHost: z.string().url().default('https://login.microsoftonline.com'),
  /** extra trust anchor (PEM file) for the authority: the lab CA, or a TLS-inspecting proxy's */
  caFile: z.string().min(1).optional(),
});
export type M365App = z.input<typeof m365AppSchema>;

const m365AppChecked = m365AppSchema.refine((a) => (a.certificateFile === undefined) !== (a.certificatePem === undefined), {
  error: 'give the certificate as certificateFile or certificatePem (one of them)',
});

export interface AccessToken {
  token: string;
  expiresOn: Date;
  /** when a holder should come back for a new one: a quarter of the lifetime, at most two minutes, before expiry */
  renewAt: Date;
}

export interface TokenProvider {
  /** a token for `scope` (IMAP_SCOPE or GRAPH_SCOPE), from msal-node's cache while it is fresh */
  getToken(scope: string): Promise<AccessToken>;
}

const RENEW_MARGIN_MS = 2 * 60_000;

/** The moment to renew a token obtained at `obtained`: early enough that no command runs on an expired session. */
export function renewalTime(obtained: number, expiresOn: Date): Date {
  const lifetime = expiresOn.getTime() - obtained;
  return new Date(expiresOn.getTime() - Math.min(RENEW_MARGIN_MS, Math.max(0, lifetime) / 4));
}

/**
 * msal-node's own client uses fetch, which takes no CA; this one is node:https
 * with the extra CA, for authorities whose certificate a private CA signed.
 */
function networkWithCa(ca: Buffer): INetworkModule {
  const send = <T>(url: string, method: 'GET' | 'POST', options?: NetworkRequestOptions, timeout?: number) =>
    new Promise<NetworkResponse<T>>((resolve, reject) => {
      const req = request(url, { method, headers: options?.headers, ca, timeout }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]));
            resolve({ status: res.statusCode ?? 0, headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T });
          } catch (err) {
            reject(err);
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
      req.on('error', reject);
      if (method === 'POST') req.end(options?.body ?? '');
      else req.end();
    });
  return {
    sendGetRequestAsync: (url, options, timeout) => send(url, 'GET', options, timeout),
    sendPostRequestAsync: (url, options) => send(url, 'POST', options),
  };
}

function certificateCredential(app: z.output<typeof m365AppSchema>): { thumbprintSha256: string; privateKey: string; x5c: string } {
  const pem = app.certificatePem ?? readFileSync(app.certificateFile ?? '', 'utf8');
  const keyPem = app.privateKeyFile ? readFileSync(app.privateKeyFile, 'utf8') : pem;
  const certificate = new X509Certificate(pem);
  return {
    thumbprintSha256: certificate.fingerprint256.replace(/:/g, ''),
    // msal-node wants PKCS#8; openssl and Azure's portal hand out PKCS#1 just as often
    privateKey: createPrivateKey(keyPem).export({ format: 'pem', type: 'pkcs8' }).toString(),
    x5c: certificate.toString(),
  };
}

/** What msal-node said, without the assertion or token; Entra ID's AADSTS code says what to fix. */
function tokenRefused(err: unknown, app: z.output<typeof m365AppSchema>, scope: string): MailferryError {
  const e = err as { errorCode?: string; errorMessage?: string; message?: string };
  const detail = (e.errorMessage || e.message || String(err)).split('\r\n')[0]!.split('\n')[0]!;
  const network = e.errorCode === 'network_error' || /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|timed out/i.test(detail);
  return new MailferryError(
    network ? 'CONNECTION_FAILED' : 'TOKEN_FAILED',
    `Microsoft 365 refused an app-only token for ${scope} to app ${app.clientId} in tenant ${app.tenantId}: ${e.errorCode ? `${e.errorCode}: ` : ''}${detail}`,
    { cause: err, permanent: !network },
  );
}

export function createTokenProvider(input: M365App): TokenProvider {
  const app = m365AppChecked.parse(input);
  const authorityHost = new URL(app.authorityHost);
  const known = authorityHost.hostname === 'login.microsoftonline.com';
  const client = new ConfidentialClientApplication({
    auth: {
      clientId: app.clientId,
      authority: `${app.authorityHost.replace(/\/$/, '')}/${app.tenantId}`,
      clientCertificate: certificateCredential(app),
      // a host msal-node does not know is trusted as given instead of being checked with login.microsoftonline.com
      knownAuthorities: known ? [] : [authorityHost.host],
    },
    system: {
      ...(app.caFile ? { networkClient: networkWithCa(readFileSync(app.caFile)) } : {}),
      loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => undefined },
    },
  });
  return {
    async getToken(scope: string): Promise<AccessToken> {
      const asked = Date.now();
      let result;
      try {
        result = await client.acquireTokenByClientCredential({ scopes: [scope] });
      } catch (err) {
        throw tokenRefused(err, app, scope);
      }
      if (!result?.accessToken || !result.expiresOn) throw tokenRefused(new Error('the answer carried no access token'), app, scope);
      return { token: result.accessToken, expiresOn: result.expiresOn, renewAt: renewalTime(Math.min(asked, result.expiresOn.getTime()), result.expiresOn) };
    },
  };
}
