/**
 * The workflow code, bundled once at install time (npm's `prepare` step,
 * scripts/setup.sh, the Docker image) rather than by every worker at start:
 * webpack and its module graph cost a worker over a hundred MB of heap that
 * it never gives back. The bundle is keyed by a hash of everything that goes
 * into it, so a worker never runs workflow code older than its sources; when
 * the key does not match (sources edited since install), the worker bundles
 * in-process as before and says so.
 *
 * `npm run build` (worker/build.ts) writes the bundle.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../shared/codec';
import { gateInterceptors } from './payloadGate';

const root = path.resolve(__dirname, '..');
/** git-ignored; the Docker image builds its own */
export const BUNDLE_PATH = path.join(root, 'dist', 'workflow-bundle.js');

/** What the worker would otherwise hand the in-process bundler: the same inputs go into the prebuilt bundle. */
export function bundleInputs() {
  return {
    workflowsPath: require.resolve('../workflows'),
    workflowInterceptorModules: gateInterceptors()?.workflowModules ?? [],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}

/** Every folder whose files the bundle may contain: workflows, what they import from shared/, the gate's interceptors. */
const SOURCE_DIRS = ['workflows', 'shared', 'worker/payloadGate'];

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : /\.[cm]?[jt]s$/.test(e.name) ? [path.join(dir, e.name)] : []))
    .sort();
}

/** sha256 over the sources, the SDK's version and the bundle's inputs: any change makes the bundle stale. */
export function sourcesKey(): string {
  const hash = createHash('sha256');
  const sdk = JSON.parse(readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as { version: string };
  hash.update(`sdk ${sdk.version}\n`);
  hash.update(JSON.stringify(bundleInputs(), (_k, v: unknown) => (typeof v === 'string' ? path.relative(root, v) : v)));
  for (const file of SOURCE_DIRS.flatMap(sourceFiles)) {
    hash.update(`\n${file}\n`);
    hash.update(readFileSync(path.join(root, file)));
  }
  return hash.digest('hex');
}

/** The prebuilt bundle's path when it was built from the sources as they are now, else why not. */
export function currentBundle(bundlePath = BUNDLE_PATH): { codePath: string } | { stale: string } {
  const keyPath = `${bundlePath}.key`;
  if (!existsSync(bundlePath) || !existsSync(keyPath)) return { stale: `no prebuilt bundle at ${path.relative(root, bundlePath)}` };
  if (readFileSync(keyPath, 'utf8').trim() !== sourcesKey())
    return { stale: `${path.relative(root, bundlePath)} was built from other sources than these` };
  return { codePath: bundlePath };
}

/** The worker's workflow options: the prebuilt bundle when it is current, else the sources to bundle in-process. */
export function workflowCode(warn: (message: string) => void): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const found = currentBundle();
  if ('codePath' in found) return { workflowBundle: { codePath: found.codePath } };
  warn(`${found.stale}: bundling the workflow code in this process (more memory); \`npm run bundle:workflows\` prebuilds it`);
  return { workflowsPath: bundleInputs().workflowsPath };
}

/** Writes the bundle and its key (the key last, each by rename, so a reader never pairs a new key with an old bundle). */
export async function writeBundle(bundlePath = BUNDLE_PATH): Promise<string> {
  const key = sourcesKey();
  const { code } = await bundleWorkflowCode(bundleInputs());
  mkdirSync(path.dirname(bundlePath), { recursive: true });
  // this process's own temporary names: workers started at once (bin/mailferry-worker) may each build it
  const tmp = `${bundlePath}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, bundlePath);
  writeFileSync(`${tmp}.key`, `${key}\n`);
  renameSync(`${tmp}.key`, `${bundlePath}.key`);
  return key;
}
