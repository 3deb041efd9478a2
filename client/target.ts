/**
 * `settings set --target m365 …`: the Microsoft 365 tenant the migration
 * goes to, and the app registration mailferry signs in as (app-only, with a
 * certificate). The certificate's private key is read from its file here and
 * sealed for the organisation before it leaves this process; `settings show`
 * prints it as `[sealed]`.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ianaOf } from '../connectors/m365/pim/timezones';
import { DOMAINS } from '../lab/config';
import { readLabInfo } from '../lab/info';
import type { M365TargetSettings, TargetSettings } from '../shared/domain';
import { CliError, EXIT, optionIssues } from './errors';

const guid = z.string().uuid('expected a GUID');

export const targetOptionsSchema = z.object({
  target: z.enum(['generic', 'm365'], { error: 'generic (LDAP/IMAP/DAV of the worker) or m365' }).default('generic'),
  tenant: z.string().min(1).optional(),
  clientId: guid.optional(),
  certificate: z.string().min(1).optional(),
  privateKey: z.string().min(1).optional(),
  routingDomain: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'expected a domain, e.g. contoso.mail.onmicrosoft.com').optional(),
  sku: guid.optional(),
  disabledPlans: z
    .string()
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
    .pipe(z.array(guid))
    .optional(),
  usageLocation: z.string().regex(/^[A-Z]{2}$/, 'expected an ISO 3166 country code, e.g. US').optional(),
  provisioningTimeout: z.coerce.number().int().min(5, 'at least 5 minutes').max(7 * 24 * 60, 'at most 7 days').default(24 * 60),
  provisioningPoll: z.coerce.number().int().min(1).max(3600).default(60),
  exchangeGuidGrace: z.coerce.number().int().min(0).max(24 * 60).default(60),
  graphUrl: z.string().url().optional(),
  authorityUrl: z.string().url().optional(),
  authorityCaFile: z.string().min(1).optional(),
  targetImap: z
    .string()
    .regex(/^[^:\s]+:\d{1,5}$/, 'expected host:port, e.g. outlook.office365.com:993')
    .transform((v) => ({ host: v.slice(0, v.lastIndexOf(':')), port: Number(v.slice(v.lastIndexOf(':') + 1)) }))
    .optional(),
  maxReceiveSize: z.coerce.number().positive().max(150, 'Exchange Online allows at most 150 MB').optional(),
  sendInvitations: z.boolean().optional(),
  floatingTimeZone: z.string().refine((z) => ianaOf(z) !== null, 'not a Windows or IANA time zone name, nor UTC').optional(),
});
export type TargetOptions = z.input<typeof targetOptionsSchema>;

/** The E3 SKU id (ENTERPRISEPACK) the lab's tenants own, the lab default for --sku. */
export const LAB_SKU = '6fd2c87f-b296-42f0-b197-1e91e994b900';

function need<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new CliError(`--target m365 needs ${flag}`, EXIT.BAD_INPUT);
  return value;
}

/** certificate and private key as one PEM, after checking both parse */
function certificatePem(certificateFile: string, keyFile?: string): string {
  let certificate: string;
  let key: string;
  try {
    certificate = readFileSync(certificateFile, 'utf8');
    key = keyFile ? readFileSync(keyFile, 'utf8') : certificate;
  } catch (err) {
    throw new CliError(`Cannot read the certificate: ${(err as Error).message}`, EXIT.BAD_INPUT);
  }
  try {
    new X509Certificate(certificate);
  } catch {
    throw new CliError(`${certificateFile} holds no PEM certificate (the one uploaded to the app registration)`, EXIT.BAD_INPUT);
  }
  try {
    createPrivateKey(key);
  } catch {
    throw new CliError(`${keyFile ?? certificateFile} holds no PEM private key: give it in the file or with --private-key <file>`, EXIT.BAD_INPUT);
  }
  return keyFile ? `${certificate.trim()}\n${key.trim()}\n` : certificate;
}

export function buildTarget(raw: TargetOptions, seal: (value: string) => string, lab: boolean): TargetSettings | undefined {
  const parsed = targetOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new CliError(optionIssues(parsed.error), EXIT.BAD_INPUT);
  }
  const o = parsed.data;
  if (o.target === 'generic') return undefined;
  // the lab's tenant, app and stand-in, unless given
  const m365 = lab ? readLabInfo().m365 : undefined;
  const graph = lab ? readLabInfo().graph : undefined;
  const target: M365TargetSettings = {
    kind: 'm365',
    tenantId: need(o.tenant ?? m365?.tenantId, '--tenant <id>'),
    clientId: need(o.clientId ?? m365?.app.clientId, '--client-id <id>'),
    certificate: seal(
      certificatePem(need(o.certificate ?? m365?.app.certificateFile, '--certificate <file>'), o.privateKey ?? (o.certificate ? undefined : m365?.app.privateKeyFile)),
    ),
    authorityHost: o.authorityUrl ?? m365?.authorityHost,
    caFile: o.authorityCaFile ?? m365?.caFile,
    graphUrl: o.graphUrl ?? graph?.url,
    // port 993 is implicit TLS; the lab's cloud Dovecot (plain, loopback) stands in for outlook.office365.com
    imap: o.targetImap ? { ...o.targetImap, secure: o.targetImap.port === 993 } : lab ? { host: readLabInfo().cloud.imap.host, port: readLabInfo().cloud.imap.port, secure: false } : undefined,
    maxReceiveSizeBytes: o.maxReceiveSize === undefined ? undefined : Math.round(o.maxReceiveSize * 1024 * 1024),
    routingDomain: need(o.routingDomain ?? (lab ? DOMAINS.routing : undefined), '--routing-domain <tenant>.mail.onmicrosoft.com'),
    license: { skuId: need(o.sku ?? (lab ? LAB_SKU : undefined), '--sku <skuId> (a licence with Exchange Online, from GET /subscribedSkus)'), disabledPlans: o.disabledPlans ?? [] },
    usageLocation: o.usageLocation,
    provisioningTimeoutMinutes: o.provisioningTimeout,
    provisioningPollSeconds: o.provisioningPoll,
    exchangeGuidGraceMinutes: o.exchangeGuidGrace,
    sendInvitations: o.sendInvitations,
    floatingTimeZone: o.floatingTimeZone,
  };
  return target;
}

export function redactTarget(target: TargetSettings | undefined): unknown {
  if (!target || target.kind !== 'm365') return target ?? { kind: 'generic' };
  return { ...target, certificate: '[sealed]' };
}
