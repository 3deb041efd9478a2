/**
 * The Graph stand-in's lab control API as tests use it: a fresh tenant per
 * test (its directory, and a bearer token for it), throttling, the recorded
 * CSDL violations.
 */
import { randomBytes } from 'node:crypto';
import { LAB_HOST, PORTS } from '../config';
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
export const tenantStats = (tenant: string) => control<{ requests: number; throttled: number; peakMailboxConcurrency: number }>('GET', `/tenants/${tenant}/stats`);
/** the recorded violations, of one tenant when given */
export const violations = async (tenant?: string) => (await control<Violation[]>('GET', '/violations')).filter((v) => tenant === undefined || v.tenant === tenant);
export const clearViolations = () => control('DELETE', '/violations');
/** `jwks`: verify JWTs with the keys at jwksUrl (the lab token endpoint); `static`: tokens registered by createLabTenant */
export const setVerifier = (auth: { kind: 'static' } | { kind: 'jwks'; jwksUrl: string; issuer?: string; audience?: string }) => control('PUT', '/auth', auth);
