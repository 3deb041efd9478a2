import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time';
import { parse as parseYaml } from 'yaml';
import { NAMESPACE_RETENTION_DAYS } from '../deploy/temporal/namespace';
import { mailferrySearchAttributes } from '../shared/searchAttributes';

const run = promisify(execFile);
const root = join(__dirname, '..');
const address = `127.0.0.1:${process.env.MAILFERRY_TEMPORAL_PORT ?? '7233'}`;
const { IndexedValueType } = temporal.api.enums.v1;

describe('the Temporal dev server started by scripts/temporal-up.sh', () => {
  let connection: Connection;
  beforeAll(async () => {
    connection = await Connection.connect({ address });
  });
  afterAll(async () => {
    await connection?.close();
  });

  test('answers on loopback', async () => {
    const info = await connection.workflowService.getSystemInfo({});
    expect(info.serverVersion).toMatch(/^\d+\.\d+/);
  });

  test('has every mailferry search attribute registered with its type', async () => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const key of mailferrySearchAttributes) {
      const expected = IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`];
      expect([key.name, customAttributes?.[key.name]]).toEqual([key.name, expected]);
    }
  });

  test(`sets the default namespace's retention explicitly (${NAMESPACE_RETENTION_DAYS} days, deploy/temporal/namespace.ts)`, async () => {
    const { config } = await connection.workflowService.describeNamespace({ namespace: 'default' });
    expect(tsToMs(config!.workflowExecutionRetentionTtl) / 86_400_000).toBe(NAMESPACE_RETENTION_DAYS);
  });

  test('temporal-up.sh run again leaves the running server alone', async () => {
    const pid = readFileSync(join(root, '.state/temporal/pid'), 'utf8').trim();
    const { stderr } = await run('bash', [join(root, 'scripts/temporal-up.sh')], { cwd: root });
    expect(stderr).toMatch(/already running|not started by this script/);
    expect(readFileSync(join(root, '.state/temporal/pid'), 'utf8').trim()).toBe(pid);
  });
});

test('ensure-temporal-cli.sh prints only the path of a working temporal binary', async () => {
  const { stdout } = await run('bash', [join(root, 'scripts/ensure-temporal-cli.sh')], { cwd: root });
  const path = stdout.trim();
  expect(stdout).toBe(`${path}\n`);
  const version = await run(path, ['--version']);
  expect(version.stdout).toMatch(/^temporal version \d+\.\d+\.\d+/);
});

describe('docker-compose.yml runs the Temporal set-up the cluster suite tests (deploy/temporal/)', () => {
  const compose = parseYaml(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<
      string,
      { image?: string; entrypoint?: string[]; command?: string[]; environment?: Record<string, string>; volumes?: string[] }
    >;
  };
  const service = (name: string) => compose.services[name] ?? {};
  const version = /^cluster_temporal_version=(\S+)$/m.exec(readFileSync(join(root, 'scripts/cluster-env.sh'), 'utf8'))?.[1];
  const mountsDeploy = (name: string) => expect(service(name).volumes).toContain('./deploy/temporal:/mailferry/temporal:ro');

  test('the same server version as scripts/cluster-env.sh builds', () => {
    expect(service('temporal').image).toBe(`temporalio/server:${version}`);
    expect(service('temporal-schema').image).toMatch(new RegExp(`^temporalio/admin-tools:${version}-`));
  });

  test('the schema job runs deploy/temporal/schema.sh with every variable it requires', () => {
    mountsDeploy('temporal-schema');
    expect(service('temporal-schema').entrypoint).toEqual(['sh', '/mailferry/temporal/schema.sh']);
    const script = readFileSync(join(root, 'deploy/temporal/schema.sh'), 'utf8');
    const required = [...script.matchAll(/\$\{(\w+):\?/g)].map(([, v]) => v);
    expect(required.length).toBeGreaterThan(0);
    for (const v of required) expect([v, service('temporal-schema').environment?.[v]]).toEqual([v, expect.any(String)]);
  });

  test('the server runs deploy/temporal/config/mailferry.yaml with every variable it requires', () => {
    mountsDeploy('temporal');
    expect(service('temporal').entrypoint?.join(' ')).toContain(
      'temporal-server --root /mailferry/temporal --config config --env mailferry',
    );
    const config = readFileSync(join(root, 'deploy/temporal/config/mailferry.yaml'), 'utf8');
    const required = [...new Set([...config.matchAll(/template "required" "(\w+)"/g)].map(([, v]) => v))];
    expect(required.length).toBeGreaterThan(0);
    for (const v of required) expect([v, service('temporal').environment?.[v]]).toEqual([v, expect.any(String)]);
    expect(service('temporal').environment?.TEMPORAL_DYNAMIC_CONFIG_FILE).toBe('/mailferry/temporal/dynamicconfig.yaml');
  });

  test('the namespace job runs deploy/temporal/namespace.ts (retention and search attributes), and nothing lists them again', () => {
    expect(service('temporal-namespace').command).toEqual(['npx', 'tsx', 'deploy/temporal/namespace.ts']);
    expect(service('temporal-namespace').environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    for (const key of mailferrySearchAttributes) expect([key.name, text.includes(key.name)]).toEqual([key.name, false]);
  });
});
