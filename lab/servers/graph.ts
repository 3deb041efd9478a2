/** The Microsoft Graph stand-in (lab/graph), run by tsx as a node process of its own. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from '../config';
import { spawnDetached } from '../proc';

const ROOT = join(__dirname, '..', '..');

export function configureGraph(): void {
  mkdirSync(paths.graph.dir, { recursive: true });
}

export function startGraph(): void {
  spawnDetached(
    'graph',
    process.execPath,
    [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'lab', 'graph', 'main.ts'), '--lab', `${paths.graph.dir}/`],
    paths.graph.log,
  );
}
