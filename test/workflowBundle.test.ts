/**
 * The prebuilt workflow bundle (worker/workflowBundle.ts): the worker uses it
 * only while it matches the sources, and it carries what the in-process
 * bundler would have put in (the payload gate's workflow interceptors).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentBundle, writeBundle } from '../worker/workflowBundle';

const dir = mkdtempSync(join(tmpdir(), 'mailferry-bundle-'));
const bundle = join(dir, 'workflow-bundle.js');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a bundle built from these sources is used; one whose key differs, or none, is not', async () => {
  expect(currentBundle(bundle)).toEqual({ stale: expect.stringContaining('no prebuilt bundle') });
  await writeBundle(bundle);
  expect(currentBundle(bundle)).toEqual({ codePath: bundle });
  const code = readFileSync(bundle, 'utf8');
  expect(code).toContain('mailboxWorkflow');
  // the gate refuses unauthenticated payloads inside the workflow sandbox too
  expect(code).toContain('PAYLOAD_REFUSED');

  writeFileSync(`${bundle}.key`, 'built from other sources\n');
  expect(currentBundle(bundle)).toEqual({ stale: expect.stringContaining('other sources') });
}, 120_000);
