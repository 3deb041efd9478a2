/**
 * "Answers" means more than an open port: each check speaks the protocol and
 * authenticates with the lab's admin credentials.
 */
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { Socket } from 'node:net';
import { ImapFlow } from 'imapflow';
import { Client } from 'ldapts';
import { LAB_HOST } from './config';
import type { LabInfo } from './info';
import { dcAnswers } from './servers/samba';

export type ServiceName = 'samba' | 'slapd' | 'dovecot-onprem' | 'dovecot-cloud' | 'radicale-onprem' | 'radicale-cloud' | 'smtp' | 'oauth' | 'graph';

function tcpBanner(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), timeoutMs);
    socket.once('data', (data) => {
      clearTimeout(timer);
      socket.end('QUIT\r\n');
      resolve(data.toString('utf8'));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.connect(port, LAB_HOST);
  });
}

async function imapLogin(side: 'onprem' | 'cloud', info: LabInfo): Promise<void> {
  const { host, port, admin } = info[side].imap;
  const client = new ImapFlow({
    host,
    port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: admin.user, pass: admin.password },
    logger: false,
    connectionTimeout: 3000,
    greetingTimeout: 3000,
  });
  await client.connect();
  await client.logout();
}

async function ldapSearch(info: LabInfo): Promise<void> {
  const client = new Client({ url: info.cloud.ldap.url, timeout: 3000, connectTimeout: 3000 });
  try {
    await client.bind(info.cloud.ldap.bindDn, info.cloud.ldap.password);
    await client.search(info.cloud.ldap.suffix, { scope: 'base', attributes: ['1.1'] }).catch((error: { code?: number }) => {
      // right after the first start the suffix entry does not exist yet: the server still answered
      if (error.code !== 32) throw error;
    });
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function davPropfind(side: 'onprem' | 'cloud', info: LabInfo): Promise<void> {
  const { url, admin } = info[side].dav;
  const response = await fetch(url, {
    method: 'PROPFIND',
    headers: { Depth: '0', Authorization: `Basic ${Buffer.from(`${admin.user}:${admin.password}`).toString('base64')}` },
    signal: AbortSignal.timeout(3000),
  });
  await response.arrayBuffer();
  if (response.status !== 207) throw new Error(`PROPFIND / answered HTTP ${response.status}`);
}

async function smtpGreeting(info: LabInfo): Promise<void> {
  const banner = await tcpBanner(info.smtp.port, 3000);
  if (!banner.startsWith('220')) throw new Error(`unexpected SMTP greeting: ${banner.trim()}`);
}

/** The token endpoint serves its authority metadata over https, verified with the lab CA. */
function oauthMetadata(info: LabInfo): Promise<void> {
  const url = `${info.m365.authorityHost}/${info.m365.tenantId}/v2.0/.well-known/openid-configuration`;
  return new Promise((resolve, reject) => {
    const req = get(url, { ca: readFileSync(info.m365.caFile), timeout: 3000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200 && (JSON.parse(body) as { token_endpoint?: string }).token_endpoint === info.m365.tokenEndpoint) resolve();
        else reject(new Error(`openid-configuration answered HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function graphHealth(info: LabInfo): Promise<void> {
  const response = await fetch(`${info.graph?.url ?? ''}/_lab/health`, { signal: AbortSignal.timeout(3000) });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`GET /_lab/health answered HTTP ${response.status}`);
}

async function dcBind(): Promise<void> {
  const problem = await dcAnswers();
  if (problem !== null) throw new Error(problem);
}

export const checks: Record<ServiceName, (info: LabInfo) => Promise<void>> = {
  samba: dcBind,
  slapd: ldapSearch,
  'dovecot-onprem': (info) => imapLogin('onprem', info),
  'dovecot-cloud': (info) => imapLogin('cloud', info),
  'radicale-onprem': (info) => davPropfind('onprem', info),
  'radicale-cloud': (info) => davPropfind('cloud', info),
  smtp: smtpGreeting,
  oauth: oauthMetadata,
  graph: graphHealth,
};

/** null when the service answers, else why not */
export async function probe(name: ServiceName, info: LabInfo): Promise<string | null> {
  try {
    await checks[name](info);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export async function waitUntilAnswers(name: ServiceName, info: LabInfo, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = 'not probed';
  while (Date.now() < deadline) {
    last = await probe(name, info);
    if (last === null) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} did not answer within ${timeoutMs / 1000}s: ${last} (see ${name.split('-')[0]} log under .lab/logs)`);
}
