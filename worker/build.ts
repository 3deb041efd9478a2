/**
 * What the worker runs, built ahead of its start (npm's `prepare` step,
 * scripts/setup.sh, the Docker image, and bin/mailferry-worker whenever the
 * sources changed): the workflow bundle (workflowBundle.ts) and the worker
 * itself as one file of plain JavaScript, dist/worker.js. Node then runs the
 * worker without a TypeScript loader: under tsx the worker carried tsx's
 * loader thread (a V8 isolate of its own), and every workflow thread loaded
 * tsx's hooks again, which cost about 40 MB of the idle worker's RSS.
 *
 * esbuild compiles worker/main.ts with every project file it imports into
 * dist/worker.js; packages in node_modules stay `require`s, as under tsx
 * (the Temporal core bridge is native). The file is keyed like the workflow
 * bundle, by a hash of its inputs, so a launcher never starts code older
 * than the sources.
 *
 * `tsx worker/build.ts [--if-stale]` (`npm run build`) writes both.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, version as esbuildVersion, type Plugin } from 'esbuild';
import { BUNDLE_PATH, currentBundle, writeBundle } from './workflowBundle';

const root = path.resolve(__dirname, '..');
export const WORKER_JS_PATH = path.join(root, 'dist', 'worker.js');

interface WorkerKey {
  hash: string;
  /** the project files esbuild read, relative to the root */
  inputs: string[];
}

function hashInputs(inputs: string[]): string | undefined {
  const hash = createHash('sha256').update(`esbuild ${esbuildVersion}\n`);
  for (const file of inputs) {
    const abs = path.join(root, file);
    if (!existsSync(abs)) return undefined;
    hash.update(`\n${file}\n`).update(readFileSync(abs));
  }
  return hash.digest('hex');
}

/** dist/worker.js when it was built from the sources as they are now, else why not. */
export function currentWorkerJs(outfile = WORKER_JS_PATH): { path: string } | { stale: string } {
  const keyPath = `${outfile}.key`;
  if (!existsSync(outfile) || !existsSync(keyPath)) return { stale: `no compiled worker at ${path.relative(root, outfile)}` };
  const key = JSON.parse(readFileSync(keyPath, 'utf8')) as WorkerKey;
  if (hashInputs(key.inputs) !== key.hash) return { stale: `${path.relative(root, outfile)} was built from other sources than these` };
  return { path: outfile };
}

/**
 * `require.resolve('./x')` names a module file for the workflow bundler (the
 * failure converter, the gate's workflow interceptors, the workflows): in one
 * file under dist/ the relative name would point next to dist/worker.js.
 * Resolved here instead, to the same source file tsx would have named,
 * relative to the compiled file so the checkout can move.
 */
function sourcePaths(outdir: string): Plugin {
  return {
    name: 'mailferry-source-paths',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        const contents = source.replace(/require\.resolve\('(\.\.?\/[^']+)'\)/g, (_m, spec: string) => {
          const target = require.resolve(path.resolve(path.dirname(args.path), spec));
          return `require('node:path').join(__dirname, ${JSON.stringify(path.relative(outdir, target))})`;
        });
        return { contents, loader: 'ts' };
      });
    },
  };
}

/**
 * Compiles the worker into `outfile` and writes its key (the key last, each by rename; temporary names of this
 * process, as workers started at once may each find the file stale and build it).
 */
export async function writeWorkerJs(outfile = WORKER_JS_PATH): Promise<string> {
  const tmp = `${outfile}.${process.pid}.tmp`;
  const result = await build({
    entryPoints: [path.join(root, 'worker', 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    outfile: tmp,
    plugins: [sourcePaths(path.dirname(outfile))],
  });
  const inputs = Object.keys(result.metafile.inputs)
    .map((f) => path.relative(root, path.resolve(f)))
    .sort();
  const hash = hashInputs(inputs) as string;
  mkdirSync(path.dirname(outfile), { recursive: true });
  // the source map is named after the file it maps: point it at the final name
  writeFileSync(tmp, readFileSync(tmp, 'utf8').replace(/sourceMappingURL=.*\.tmp\.map$/m, `sourceMappingURL=${path.basename(outfile)}.map`));
  renameSync(`${tmp}.map`, `${outfile}.map`);
  renameSync(tmp, outfile);
  const key: WorkerKey = { hash, inputs };
  writeFileSync(`${tmp}.key`, `${JSON.stringify(key)}\n`);
  renameSync(`${tmp}.key`, `${outfile}.key`);
  return hash;
}

/** `--if-stale`: leave what is current alone (bin/mailferry-worker and scripts/setup.sh run this at every start) */
async function main(): Promise<string[]> {
  const ifStale = process.argv.includes('--if-stale');
  const said: string[] = [];
  const rel = (p: string) => path.relative(root, p);
  if (ifStale && 'codePath' in currentBundle()) said.push(`${rel(BUNDLE_PATH)} is current`);
  else said.push(`${rel(BUNDLE_PATH)} built (sources ${(await writeBundle()).slice(0, 12)})`);
  if (ifStale && 'path' in currentWorkerJs()) said.push(`${rel(WORKER_JS_PATH)} is current`);
  else said.push(`${rel(WORKER_JS_PATH)} built (sources ${(await writeWorkerJs()).slice(0, 12)})`);
  return said;
}

if (require.main === module) {
  main().then(
    (said) => process.stdout.write(`build: ${said.join('; ')}\n`),
    (err: unknown) => {
      process.stderr.write(`build: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
