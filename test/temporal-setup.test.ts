import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { mailferrySearchAttributes, searchAttributeCliPairs } from '../shared/searchAttributes';

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

test('docker-compose.yml registers the same search attributes as shared/searchAttributes.ts', () => {
  const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
  const registered = [...compose.matchAll(/--name (\w+) --type (\w+)/g)].map(([, name, type]) => `${name}=${type}`);
  expect(registered.sort()).toEqual(searchAttributeCliPairs().sort());
});
