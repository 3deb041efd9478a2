/**
 * The Graph stand-in checks what it receives and returns against Graph v1.0's
 * CSDL: a property, type, action, parameter or query name the real service
 * lacks is answered 400 (a response: 500) and recorded, so a connector or a
 * stand-in module that invents one fails its test.
 */
import { clearViolations, createLabTenant, GRAPH_URL, setPageSize, violations, type LabTenant } from '../lab/graph/control';
import { graphError, createGraphServer, type GraphModule } from '../lab/graph/server';
import { directoryModule } from '../lab/graph/directory';

const SKU = '6fd2c87f-b296-42f0-b197-1e91e994b900';
const EXCHANGE_PLAN = 'efb87545-963c-4e0d-99df-69c6916d9eb0';

let lab: LabTenant;

async function graph(method: string, path: string, body?: unknown, token = lab.token, base = GRAPH_URL): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}/v1.0${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

beforeAll(async () => {
  await clearViolations();
  lab = await createLabTenant({
    domains: [{ id: 'tailspintoys.com', isDefault: true }],
    skus: [{ skuId: SKU, skuPartNumber: 'ENTERPRISEPACK', servicePlans: [{ servicePlanId: EXCHANGE_PLAN, servicePlanName: 'EXCHANGE_S_ENTERPRISE' }] }],
    users: [{ userPrincipalName: 'pilarp@tailspintoys.com', mail: 'pilarp@tailspintoys.com', proxyAddresses: ['SMTP:pilarp@tailspintoys.com'] }],
  });
});

test('requests Graph v1.0 has pass and leave no violation', async () => {
  const found = await graph(
    'GET',
    `/users?$filter=${encodeURIComponent("mail eq 'pilarp@tailspintoys.com' or proxyAddresses/any(p:p eq 'smtp:pilarp@tailspintoys.com')")}&$select=id,mail,proxyAddresses,onPremisesSyncEnabled`,
  );
  expect(found.status).toBe(200);
  expect(found.body.value).toHaveLength(1);
  const id = found.body.value[0].id;
  expect((await graph('PATCH', `/users/${id}`, { usageLocation: 'US' })).status).toBe(204);
  expect((await graph('POST', `/users/${id}/microsoft.graph.assignLicense`, { addLicenses: [{ skuId: SKU, disabledPlans: [] }], removeLicenses: [] })).status).toBe(200);
  expect((await graph('GET', '/organization?$select=id,onPremisesSyncEnabled')).status).toBe(200);
  expect(await violations(lab.tenant)).toEqual([]);
});

test.each([
  ['an unknown property in a body', 'PATCH', '/users/{id}', { usageLocation: 'US', exchangeGuid: '00000000-0000-0000-0000-000000000000' }, 'has no property "exchangeGuid"'],
  ['a value of the wrong type', 'PATCH', '/users/{id}', { accountEnabled: 'yes' }, 'is not a valid Edm.Boolean'],
  ['an unknown action', 'POST', '/users/{id}/enableMailbox', {}, 'no property, navigation property or bound operation "enableMailbox"'],
  ['an unknown action parameter', 'POST', '/users/{id}/assignLicense', { addLicenses: [], removeLicenses: [], usageLocation: 'US' }, 'no parameter "usageLocation"'],
  ['a missing action parameter', 'POST', '/users/{id}/assignLicense', { addLicenses: [] }, 'the parameter "removeLicenses" is required'],
  ['an unknown property in a nested complex type', 'POST', '/users/{id}/assignLicense', { addLicenses: [{ skuId: SKU, plans: [] }], removeLicenses: [] }, 'microsoft.graph.assignedLicense has no property "plans"'],
  ['an unknown $select property', 'GET', '/users?$select=id,recipientType', undefined, '$select: microsoft.graph.user has no property "recipientType"'],
  ['an unknown $filter property', 'GET', `/users?$filter=${encodeURIComponent("primarySmtpAddress eq 'a@b.c'")}`, undefined, 'has no property "primarySmtpAddress"'],
  ['an unknown property inside a lambda', 'GET', `/users?$filter=${encodeURIComponent('assignedLicenses/any(l:l/sku eq 1)')}`, undefined, 'microsoft.graph.assignedLicense has no property "sku"'],
  ['an unknown entity set', 'GET', '/mailboxes', undefined, 'no entity set or singleton "mailboxes"'],
  ['an unknown query option', 'GET', '/users?$where=x', undefined, '$where: not an OData query option'],
])('the stand-in refuses %s with 400 and records it', async (_what, method, path, body, problem) => {
  await clearViolations();
  const users = await graph('GET', '/users?$select=id');
  const response = await graph(method, path.replace('{id}', users.body.value[0].id), body);
  expect(response.status).toBe(400);
  expect(response.body.error.message).toContain(problem);
  const recorded = await violations(lab.tenant);
  expect(recorded).toHaveLength(1);
  expect(recorded[0].problems.join('; ')).toContain(problem);
});

test('a module whose response names what Graph lacks is answered 500 and recorded', async () => {
  const liar: GraphModule = (routes) => routes.add('GET', '/organization', () => ({ status: 200, body: { value: [{ id: 'x', dirSyncEnabled: true }] } }));
  const quiet: GraphModule = (routes) => routes.add('GET', '/domains', () => graphError(404, 'NotFound', 'no domains'));
  const port = 52000 + 444 + Math.floor(Math.random() * 50);
  const server = createGraphServer({ port, modules: [liar, quiet, directoryModule] });
  await server.listen();
  try {
    const base = `http://127.0.0.1:${port}`;
    const { tenant } = (await (await fetch(`${base}/_lab/directory/tenants`, { method: 'POST', body: JSON.stringify({ domains: [] }) })).json()) as { tenant: string };
    await fetch(`${base}/_lab/tokens`, { method: 'POST', body: JSON.stringify({ token: 'a-token-for-this-test-only', tenant }) });
    const response = await graph('GET', '/organization', undefined, 'a-token-for-this-test-only', base);
    expect(response.status).toBe(500);
    expect(response.body.error.message).toContain('microsoft.graph.organization has no property "dirSyncEnabled"');
    // an error body is Graph's error shape, not an entity: not checked against the CSDL
    expect((await graph('GET', '/domains', undefined, 'a-token-for-this-test-only', base)).status).toBe(404);
    const recorded = (await (await fetch(`${base}/_lab/violations`)).json()) as { side: string }[];
    expect(recorded.map((v) => v.side)).toEqual(['response']);
  } finally {
    await server.close();
  }
});

test('a request without a token the verifier accepts is refused 401, as Graph does', async () => {
  const response = await graph('GET', '/organization', undefined, 'not-a-registered-token-at-all');
  expect(response.status).toBe(401);
  expect(response.body.error.code).toBe('InvalidAuthenticationToken');
});

describe('paging', () => {
  let paged: LabTenant;
  const addresses = Array.from({ length: 5 }, (_, i) => `paged${i}@tailspintoys.com`);
  beforeAll(async () => {
    paged = await createLabTenant({ domains: [{ id: 'tailspintoys.com', isDefault: true }], users: addresses.map((a) => ({ userPrincipalName: a, mail: a, proxyAddresses: [`SMTP:${a}`] })) });
  });

  test('$top is the page size; @odata.nextLink, the same query with an opaque $skiptoken, leads to the rest', async () => {
    const seen: string[] = [];
    let path: string | undefined = '/users?$select=id,mail&$top=2';
    let pages = 0;
    while (path) {
      const page: { status: number; body: any } = await graph('GET', path, undefined, paged.token);
      expect(page.status).toBe(200);
      expect(page.body.value.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.value.map((u: { mail: string }) => u.mail));
      pages++;
      const next: string | undefined = page.body['@odata.nextLink'];
      if (next) {
        expect(next.startsWith(`${GRAPH_URL}/v1.0/users?`)).toBe(true);
        expect(next).toContain('$select=id%2Cmail');
        expect(next).toMatch(/\$skiptoken=[A-Za-z0-9_-]+/);
      }
      path = next?.slice(`${GRAPH_URL}/v1.0`.length);
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(addresses);
    expect(await violations(paged.tenant)).toEqual([]);
  });

  test("a tenant's page size caps every page; without $top a page holds Graph's default", async () => {
    expect((await graph('GET', '/users?$select=id', undefined, paged.token)).body['@odata.nextLink']).toBeUndefined();
    await setPageSize(paged.tenant, 4);
    const first = await graph('GET', '/users?$select=id&$top=999', undefined, paged.token);
    expect(first.body.value).toHaveLength(4);
    expect(first.body['@odata.nextLink']).toBeDefined();
    await setPageSize(paged.tenant, 0);
  });

  test('a $skiptoken used with another query, or made up, and a $top above 999 for users are refused 400', async () => {
    const first = await graph('GET', '/users?$select=id&$top=2', undefined, paged.token);
    const token = new URL(first.body['@odata.nextLink']).searchParams.get('$skiptoken');
    expect((await graph('GET', `/users?$select=id,mail&$top=2&$skiptoken=${token}`, undefined, paged.token)).status).toBe(400);
    expect((await graph('GET', '/users?$select=id&$top=2&$skiptoken=bm90LWEtdG9rZW4', undefined, paged.token)).status).toBe(400);
    const tooMany = await graph('GET', '/users?$select=id&$top=1000', undefined, paged.token);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toContain('Must be between 1 and 999');
  });
});
