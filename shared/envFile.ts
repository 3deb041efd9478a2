/**
 * The settings file of the CLI and the worker. One file is read: the CLI's
 * `--env-file FILE` or MAILFERRY_ENV_FILE when given, else `.env` in the
 * working directory, else the settings
 * `npm run demo` left in the project's state folder (`.state/demo.env`), so a
 * new terminal after the demo needs no extra step. A variable already in the
 * environment wins over the file (a shell or compose can override one line);
 * the values then go through the same zod schemas as the environment.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';

/** MAILFERRY_STATE_DIR separates a second instance (the fault suite's) from the shared one */
export const stateDir = (env: NodeJS.ProcessEnv = process.env) => resolve(env.MAILFERRY_STATE_DIR || join(__dirname, '..', '.state'));
export const demoEnvFile = (env: NodeJS.ProcessEnv = process.env) => join(stateDir(env), 'demo.env');

/** Paths in a file mean paths beside the file, so `--env-file /etc/mailferry/.env` works from any folder. */
const PATH_VARIABLES = ['MAILFERRY_CODEC_KEY_FILE', 'MAILFERRY_REPORTS_DIR'];
/** Set exactly one of each group: the environment's choice is not mixed with the file's. */
const EXCLUSIVE = [['MAILFERRY_CODEC_KEY', 'MAILFERRY_CODEC_KEY_FILE']];

export class EnvFileError extends Error {
  readonly code = 'ENV_FILE_UNREADABLE';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`Cannot read the settings file ${file} (${reason}): check the path given to --env-file, or write one with \`mailferry init\``);
    this.name = 'EnvFileError';
  }
}

export interface EnvSource {
  /** the file read, or null when none was found */
  file: string | null;
  /** names (never values) taken from the file */
  applied: string[];
}

/** Which file would be read, without reading it. */
export function findEnvFile(explicit: string | undefined, cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env) {
  const named = explicit ?? env.MAILFERRY_ENV_FILE;
  if (named) return resolve(cwd, named);
  const local = join(cwd, '.env');
  if (existsSync(local)) return local;
  const demo = demoEnvFile(env);
  return existsSync(demo) ? demo : null;
}

/** Reads the settings file into `env` (process.env by default) without overriding what is set there. */
export function loadEnvFile(
  explicit: string | undefined,
  { cwd = process.cwd(), env = process.env }: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): EnvSource {
  const file = findEnvFile(explicit, cwd, env);
  if (!file) return { file: null, applied: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EnvFileError(file, (err as NodeJS.ErrnoException).code ?? String(err));
  }
  const values = parseEnv(text);
  const skipped = new Set(EXCLUSIVE.filter((group) => group.some((name) => env[name] !== undefined)).flat());
  const applied: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (env[name] !== undefined || skipped.has(name)) continue;
    env[name] = PATH_VARIABLES.includes(name) && value && !isAbsolute(value) ? resolve(dirname(file), value) : value;
    applied.push(name);
  }
  return { file, applied };
}

/** `KEY=value` lines that parseEnv reads back unchanged (values single-quoted; parseEnv has no escapes inside quotes). */
export function formatEnvFile(values: Record<string, string>, header: string[] = []): string {
  const line = ([k, v]: [string, string]) => {
    if (/[\r\n]/.test(v) || (v.includes("'") && v.includes('"')))
      throw new Error(`${k}: a settings file value cannot span lines or hold both kinds of quote`);
    return `${k}=${v.includes("'") ? `"${v}"` : `'${v}'`}`;
  };
  return [...header.map((h) => `# ${h}`), ...Object.entries(values).map(line), ''].join('\n');
}
