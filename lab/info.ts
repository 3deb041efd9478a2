/**
 * The running lab's description, as `npm run -s lab:info` prints it and as
 * tests, the demo and benchmarks read it. Written by `lab:up`/`lab:seed` to
 * `.lab/info.json`; the credentials in it are lab-only test secrets.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

export const LAB_DIR = resolve(process.env.MAILFERRY_LAB_DIR ?? join(__dirname, '..', '.lab'));
export const LAB_INFO_FILE = join(LAB_DIR, 'info.json');

const credentials = z.object({ user: z.string(), password: z.string() });
const imap = z.object({ host: z.string(), port: z.number().int(), secure: z.boolean(), admin: credentials });
/**
 * on-prem: the Samba AD DC over LDAPS (bindDn `DOMAIN\\user`, bindUpn the same account as a UPN,
 * caFile the lab CA that signed the DC's certificate); cloud: OpenLDAP, bound by DN
 */
const ldap = z.object({
  url: z.string(),
  suffix: z.string(),
  bindDn: z.string(),
  password: z.string(),
  bindUpn: z.string().optional(),
  caFile: z.string().optional(),
});
const dav = z.object({ url: z.string(), admin: credentials });
const side = z.object({ imap, ldap, dav, mailDir: z.string() });

/**
 * The lab's Microsoft 365 tenant as far as tokens go: the token endpoint
 * (lab/oauth/server.ts, https with the lab CA), and the app registered in it
 * with its certificate, as `settings set --target m365` takes them.
 */
const m365 = z.object({
  tenantId: z.string(),
  /** msal-node's authority host (the authority is `<authorityHost>/<tenantId>`) */
  authorityHost: z.string(),
  tokenEndpoint: z.string(),
  jwksUri: z.string(),
  /** `iss` of the access tokens it issues */
  accessTokenIssuer: z.string(),
  /** the lab CA: trust anchor for the token endpoint */
  caFile: z.string(),
  app: z.object({ clientId: z.string(), certificateFile: z.string(), privateKeyFile: z.string(), tokenLifetimeSeconds: z.number().int() }),
  /** the token endpoint's own configuration: a test starts a second one from it (same tenant, keys and issuer) with another lifetime */
  tokenServerConfig: z.string(),
});

export const labUserKind = z.enum(['normal', 'no-meu', 'um-enabled', 'federated', 'not-accepted']);
export type LabUserKind = z.infer<typeof labUserKind>;

export const labInfoSchema = z.object({
  dir: z.string(),
  onprem: side,
  cloud: side,
  smtp: z.object({ host: z.string(), port: z.number().int(), messagesDir: z.string() }),
  m365,
  /** the Microsoft Graph stand-in: Graph under `<url>/v1.0`, lab control under `<url>/_lab` */
  graph: z.object({ url: z.string() }).optional(),
  domains: z.object({ accepted: z.array(z.string()), federated: z.array(z.string()), notAccepted: z.array(z.string()) }),
  /** Filled by lab:seed; empty right after lab:up. */
  seed: z
    .object({
      seed: z.number().int(),
      profile: z.string(),
      users: z.array(
        z.object({
          address: z.string(),
          kind: labUserKind,
          /** password of the on-prem mailbox */
          password: z.string(),
          messages: z.number().int(),
          bytes: z.number().int(),
          contacts: z.number().int(),
          events: z.number().int(),
        }),
      ),
    })
    .nullable(),
});
export type LabInfo = z.infer<typeof labInfoSchema>;

export class LabNotRunningError extends Error {
  readonly code = 'LAB_NOT_RUNNING';
  constructor(detail: string) {
    super(`The lab is not running (${detail}): start it with \`npm run lab:up && npm run lab:seed\``);
    this.name = 'LabNotRunningError';
  }
}

export function readLabInfo(): LabInfo {
  let raw: string;
  try {
    raw = readFileSync(LAB_INFO_FILE, 'utf8');
  } catch {
    throw new LabNotRunningError(`no ${LAB_INFO_FILE}`);
  }
  return labInfoSchema.parse(JSON.parse(raw));
}
