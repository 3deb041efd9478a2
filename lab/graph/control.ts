/**
 * The Graph stand-in's lab control API as tests use it: a fresh tenant per
 * test (its directory, and a bearer token for it), throttling, the recorded
 * CSDL violations.
 */
import { randomBytes } from 'node:crypto';
import { LAB_SKU } from '../../client/target';
import { DOMAINS, LAB_HOST, PORTS } from '../config';
import type { LabInfo } from '../info';
import type { LabDirectory } from './directory';
import type { Throttle, Violation } from './server';

export const GRAPH_URL = `http://${LAB_HOST}:${PORTS.graph}`;

async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${GRAPH_URL}/_lab${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`Graph stand-in ${method} /_lab${path}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

export interface LabTenant {
  tenant: string;
  /** a bearer token the stand-in's static verifier accepts for this tenant */
  token: string;
}

/** A new tenant with its directory, and a token for it. */
export async function createLabTenant(directory: LabDirectory): Promise<LabTenant> {
  const { tenant } = await control<{ tenant: string }>('POST', '/directory/tenants', directory);
  const token = randomBytes(24).toString('base64url');
  await control('POST', '/tokens', { token, tenant });
  return { tenant, token };
}

export const labUsers = (tenant: string) =>
  control<Array<Record<string, unknown> & { lab: { exchangeGuidSynced: boolean; mailboxAt: number | null; passwordSet: boolean } }>>(
    'GET',
    `/directory/tenants/${tenant}/users`,
  );
export const setLabDirectory = (tenant: string, change: { provisioningDelayMs?: number; onPremisesSyncEnabled?: boolean | null }) =>
  control('PATCH', `/directory/tenants/${tenant}`, change);
export const setThrottle = (tenant: string, throttle: Partial<Throttle> & { latencyMs?: number }) => control('PUT', `/tenants/${tenant}/throttle`, throttle);
/** at most `pageSize` items per collection page for this tenant (0: Graph's own page sizes), so a test sees `@odata.nextLink` */
export const setPageSize = (tenant: string, pageSize: number) => control('PUT', `/tenants/${tenant}/paging`, { pageSize });
export const tenantStats = (tenant: string) => control<{ requests: number; throttled: number; peakMailboxConcurrency: number }>('GET', `/tenants/${tenant}/stats`);
/** the recorded violations, of one tenant when given */
export const violations = async (tenant?: string) => (await control<Violation[]>('GET', '/violations')).filter((v) => tenant === undefined || v.tenant === tenant);
export const clearViolations = () => control('DELETE', '/violations');
/** `jwks`: verify JWTs with the keys at jwksUrl (the lab token endpoint); `static`: tokens registered by createLabTenant */
export const setVerifier = (auth: { kind: 'static' } | { kind: 'jwks'; jwksUrl: string; issuer?: string; audience?: string }) => control('PUT', '/auth', auth);

/**
 * The lab's own tenant (the one its token endpoint issues tokens for), holding
 * the seeded organisation's MEUs as directory synchronisation would have made
 * them: every seeded user but the one without an MEU. The stand-in keeps
 * tenants in memory, so this is done again after each `lab up`; it replaces
 * the tenant of an earlier run. The normal users are cloud-managed (a CSV
 * password is set through Graph); the edge users stay synced.
 */
export async function createSeededTenant(info: LabInfo, provisioningDelayMs: number): Promise<LabTenant> {
  if (!info.seed) throw new Error('the lab is not seeded: run `npx tsx lab/cli.ts seed` first');
  return createLabTenant({
    tenant: info.m365.tenantId,
    provisioningDelayMs,
    domains: [
      { id: DOMAINS.primary, isDefault: true },
      { id: DOMAINS.federated, authenticationType: 'Federated' },
    ],
    skus: [{ skuId: LAB_SKU, skuPartNumber: 'ENTERPRISEPACK', servicePlans: [{ servicePlanName: 'EXCHANGE_S_ENTERPRISE' }] }],
    users: info.seed.users
      .filter((u) => u.kind !== 'no-meu')
      .map((u) => ({ userPrincipalName: u.address, mail: u.address, proxyAddresses: [`SMTP:${u.address}`], onPremisesSyncEnabled: u.kind !== 'normal' })),
  });
}
