/**
 * The compiled worker (worker/build.ts): bin/mailferry-worker starts it only
 * while it matches the sources, and the module paths it hands the workflow
 * bundler still name the source files (in one file under dist/ a relative
 * `require.resolve` would point next to dist/worker.js).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { currentWorkerJs, writeWorkerJs } from '../worker/build';

const ROOT = join(__dirname, '..');
// under dist/ of this checkout, as the real one: the paths are relative to the compiled file
const dir = mkdtempSync(join(ROOT, 'dist', 'test-worker-'));
const outfile = join(dir, 'worker.js');
afterAll(() => rmSync(dir, { recursive: true, force: true }));


test('a compiled worker built from these sources is current; one whose key differs, or none, is not', async () => {
  expect(currentWorkerJs(outfile)).toEqual({ stale: expect.stringContaining('no compiled worker') });
  await writeWorkerJs(outfile);
  expect(currentWorkerJs(outfile)).toEqual({ path: outfile });

  const key = JSON.parse(readFileSync(`${outfile}.key`, 'utf8')) as { hash: string; inputs: string[] };
  expect(key.inputs).toContain('worker/main.ts');
  expect(key.inputs.every((f) => !f.startsWith('node_modules/'))).toBe(true);
  writeFileSync(`${outfile}.key`, JSON.stringify({ ...key, hash: 'built from other sources' }));
  expect(currentWorkerJs(outfile)).toEqual({ stale: expect.stringContaining('other sources') });
}, 60_000);

test('the module paths for the workflow bundler name the source files, relative to the compiled file', async () => {
  await writeWorkerJs(outfile);
  const code = readFileSync(outfile, 'utf8');
  expect(code).not.toMatch(/require\.resolve\("\.\.?\//);
  const named = [...code.matchAll(/require\("node:path"\)\.join\(__dirname, "([^"]+)"\)/g)].map((m) => resolve(dir, m[1]));
  expect(named.map((p) => p.slice(ROOT.length + 1)).sort()).toEqual(
    ['shared/failureConverter.ts', 'worker/payloadGate/workflowInterceptors.ts', 'workflows/index.ts'].sort(),
  );
  expect(named.every((p) => existsSync(p))).toBe(true);
}, 60_000);
