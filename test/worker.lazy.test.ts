/**
 * What the worker loads at start: the Microsoft 365 target's libraries
 * (msal-node, the Graph client, ical.js) only once an organisation's target
 * is m365 (worker/m365Connectors.ts), so a worker of generic targets never
 * holds them. Checked in a fresh Node process: jest's own module registry
 * would not say what Node loaded.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const M365_PACKAGES = ['@azure/msal-node', '@microsoft/microsoft-graph-client', 'ical.js'];

function loadedAfter(script: string): string[] {
  const probe = `${script}
const loaded = Object.keys(require.cache);
process.stdout.write(JSON.stringify(${JSON.stringify(M365_PACKAGES)}.filter((p) => loaded.some((f) => f.includes('/node_modules/' + p + '/')))));`;
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', probe], { cwd: ROOT, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as string[];
}

test('the worker connectors load no Microsoft 365 library until an m365 target asks for one', () => {
  const wire = `const { createConnectors } = require('./worker/connectors');
const env = require('./worker/config').loadWorkerEnv({ MAILFERRY_CLOUD_LDAP_URL: 'ldap://127.0.0.1:1/', MAILFERRY_CLOUD_LDAP_BASE_DN: 'dc=x',
  MAILFERRY_CLOUD_LDAP_BIND_DN: 'cn=x', MAILFERRY_CLOUD_LDAP_PASSWORD: 'x', MAILFERRY_CLOUD_ROUTING_DOMAIN: 'x.test', MAILFERRY_CLOUD_IMAP_HOST: 'h',
  MAILFERRY_CLOUD_IMAP_PORT: '1', MAILFERRY_CLOUD_IMAP_MASTER_USER: 'u', MAILFERRY_CLOUD_IMAP_PASSWORD: 'p', MAILFERRY_CLOUD_DAV_URL: 'http://h/',
  MAILFERRY_CLOUD_DAV_USER: 'u', MAILFERRY_CLOUD_DAV_PASSWORD: 'p', MAILFERRY_SMTP_HOST: 'h', MAILFERRY_SMTP_PORT: '1' });
const connectors = createConnectors(env, { unseal: (v) => v }, {});`;
  expect(loadedAfter(wire)).toEqual([]);
  // an m365 target loads them (its made-up app registration is then refused, which does not matter here)
  expect(loadedAfter(`${wire}
try { connectors.graphPim({ target: { kind: 'm365', clientId: 'c', tenantId: 't', certificate: 'pem' } }); } catch {}`)).toEqual(M365_PACKAGES);
});
