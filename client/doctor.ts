/**
 * `mailferry doctor`: checks everything a batch needs, in the order an admin
 * would fix it (settings file, key, server, search attributes, worker,
 * organisation, every endpoint the worker will call), and says for each
 * failure what is wrong and the command that fixes it. Never prints a secret.
 */
import { Socket } from 'node:net';
import { Client, type Connection } from '@temporalio/client';
import { dataConverterOptions, loadCodec } from '../shared/codec';
import { findEnvFile } from '../shared/envFile';
import { mailferrySearchAttributes } from '../shared/searchAttributes';
import { explainFailure, fixes, lastSeenText, workflowPollers } from './checks';
import { clientSettings, connectTemporal } from './connection';
import { CliError, EXIT } from './errors';
import { orgState } from './org';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** the exit code this failure stands for */
  exitCode?: number;
}

const pass = (name: string, detail: string): Check => ({ name, ok: true, detail });
const fail = (name: string, detail: string, fix: string, exitCode: number): Check => ({ name, ok: false, detail, fix, exitCode });
/** A CliError's message already names the cause and the fix. */
const failed = (name: string, err: unknown, taskQueue?: string): Check => {
  const e = explainFailure(err, taskQueue);
  return {
    name,
    ok: false,
    detail: e?.message ?? (err instanceof Error ? err.message : String(err)),
    exitCode: e?.exitCode ?? EXIT.UNEXPECTED,
  };
};

/** host:port answers a TCP connection within 3 s */
function answers(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (problem: string | null) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(3000, () => done('no answer within 3 s'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.connect(port, host, () => done(null));
  });
}

const defaultPorts: Record<string, number> = { 'ldap:': 389, 'ldaps:': 636, 'http:': 80, 'https:': 443 };
export function urlEndpoint(url: string): { host: string; port: number } | null {
  try {
    const u = new URL(url);
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) || defaultPorts[u.protocol] || 0 };
  } catch {
    return null;
  }
}

export async function endpointCheck(name: string, where: { host: string; port: number } | null, fix: string): Promise<Check> {
  if (!where || !where.port) return fail(name, 'not a valid address', fix, EXIT.NOT_CONFIGURED);
  const problem = await answers(where.host, where.port);
  return problem
    ? fail(name, `${where.host}:${where.port} does not answer (${problem})`, fix, EXIT.REFUSED)
    : pass(name, `${where.host}:${where.port} answers`);
}

/** The worker's endpoints, when the CLI shares the worker's .env (the demo's and `mailferry init`'s do). */
function cloudEndpoints(env: NodeJS.ProcessEnv): { name: string; where: { host: string; port: number } | null }[] {
  const out: { name: string; where: { host: string; port: number } | null }[] = [];
  if (env.MAILFERRY_CLOUD_LDAP_URL) out.push({ name: 'target directory', where: urlEndpoint(env.MAILFERRY_CLOUD_LDAP_URL) });
  if (env.MAILFERRY_CLOUD_IMAP_HOST)
    out.push({ name: 'target IMAP', where: { host: env.MAILFERRY_CLOUD_IMAP_HOST, port: Number(env.MAILFERRY_CLOUD_IMAP_PORT) } });
  if (env.MAILFERRY_CLOUD_DAV_URL) out.push({ name: 'target CalDAV/CardDAV', where: urlEndpoint(env.MAILFERRY_CLOUD_DAV_URL) });
  if (env.MAILFERRY_SMTP_HOST)
    out.push({ name: 'SMTP relay', where: { host: env.MAILFERRY_SMTP_HOST, port: Number(env.MAILFERRY_SMTP_PORT) } });
  return out;
}

interface SourceSettings {
  source?: { imap?: { host: string; port: number }; directory?: { url: string }; dav?: { url: string } };
}

export async function runDoctor(explicitEnvFile: string | undefined, org: string | undefined, env = process.env): Promise<Check[]> {
  const checks: Check[] = [];
  const file = findEnvFile(explicitEnvFile, process.cwd(), env);
  checks.push(pass('settings file', file ?? 'none (environment only); `mailferry init` writes a .env'));

  let key: ReturnType<typeof loadCodec> | undefined;
  try {
    key = loadCodec(env);
    const { current, previous } = key.keyring;
    const earlier = previous.length > 0 ? `, earlier key id(s) ${previous.map((k) => `"${k.id}"`).join(', ')}` : '';
    checks.push(
      pass('payload key', `key id "${current.id}"${env.MAILFERRY_CODEC_KEY_FILE ? ` from ${env.MAILFERRY_CODEC_KEY_FILE}` : ''}${earlier}`),
    );
  } catch (err) {
    checks.push(failed('payload key', err));
  }

  let connection: Connection;
  let cfg: ReturnType<typeof clientSettings>;
  try {
    cfg = clientSettings(env);
    connection = await connectTemporal(cfg);
  } catch (err) {
    checks.push(failed('Temporal server', err));
    return checks;
  }
  try {
    const namespace = cfg.TEMPORAL_NAMESPACE;
    try {
      await connection.workflowService.describeNamespace({ namespace });
      checks.push(pass('Temporal server', `${cfg.TEMPORAL_ADDRESS}, namespace ${namespace}`));
    } catch (err) {
      checks.push(
        fail(
          'Temporal server',
          `namespace ${namespace} at ${cfg.TEMPORAL_ADDRESS}: ${(err as Error).message}`,
          'set TEMPORAL_NAMESPACE in .env, or create the namespace',
          EXIT.NOT_CONFIGURED,
        ),
      );
      return checks;
    }

    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = mailferrySearchAttributes.filter((a) => !customAttributes?.[a.name]).map((a) => a.name);
    checks.push(
      missing.length
        ? fail(
            'search attributes',
            `missing: ${missing.join(', ')}`,
            '`npm run temporal:up` registers them on the dev server; on a cluster: `temporal operator search-attribute create` (docs/production.md)',
            EXIT.NOT_CONFIGURED,
          )
        : pass('search attributes', `${mailferrySearchAttributes.length} of ${mailferrySearchAttributes.length} registered`),
    );

    const pollers = await workflowPollers(new Client({ connection, namespace }), cfg.MAILFERRY_TASK_QUEUE);
    const workerUp = pollers.live > 0;
    const workerCheck = checks.length;
    checks.push(
      workerUp
        ? pass('worker', `${pollers.live} seen polling task queue "${cfg.MAILFERRY_TASK_QUEUE}" in the last 90 s`)
        : fail(
            'worker',
            `no worker polls task queue "${cfg.MAILFERRY_TASK_QUEUE}" (${lastSeenText(pollers.lastSeen)})`,
            fixes.worker,
            EXIT.NO_WORKER,
          ),
    );

    let settings: SourceSettings | undefined;
    if (!org) checks.push(fail('organisation', 'none chosen', fixes.org, EXIT.NOT_CONFIGURED));
    else if (!workerUp || !key)
      checks.push(fail('organisation', `${org}: not checked (needs the key and a worker)`, 'fix the checks above', EXIT.NOT_CONFIGURED));
    else {
      try {
        // a worker that stopped a moment ago still looks fresh; the query tells, and need not wait 30 s for it
        const client = new Client({ connection, namespace, dataConverter: dataConverterOptions(key.codec) });
        const state = await connection.withDeadline(Date.now() + 10_000, () => orgState(client, org));
        settings = (state.settings ?? undefined) as SourceSettings | undefined;
        checks.push(
          settings
            ? pass('organisation', `${org}: settings tested ${state.settingsTestedAt ?? '(never)'}, ${state.batches.length} batch(es)`)
            : fail('organisation', `${org} has no connection settings`, '`mailferry settings set …` (see README)', EXIT.NOT_FOUND),
        );
      } catch (err) {
        const check = failed('organisation', err, cfg.MAILFERRY_TASK_QUEUE);
        if (check.exitCode === EXIT.NO_WORKER) {
          checks[workerCheck] = { ...check, name: 'worker' };
          checks.push(fail('organisation', `${org}: not checked (needs a worker)`, 'fix the checks above', EXIT.NOT_CONFIGURED));
        } else checks.push(check);
      }
    }

    const workerFix = 'fix the address in the worker’s .env (MAILFERRY_CLOUD_* / MAILFERRY_SMTP_*) or start that server';
    for (const e of cloudEndpoints(env)) checks.push(await endpointCheck(e.name, e.where, workerFix));
    const src = settings?.source;
    const sourceFix = 'fix it with `mailferry settings set …`, or start that server';
    if (src?.imap) checks.push(await endpointCheck('source IMAP', src.imap, sourceFix));
    if (src?.directory) checks.push(await endpointCheck('source directory', urlEndpoint(src.directory.url), sourceFix));
    if (src?.dav) checks.push(await endpointCheck('source CalDAV/CardDAV', urlEndpoint(src.dav.url), sourceFix));
  } finally {
    await connection.close();
  }
  return checks;
}

export function formatChecks(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map(
    (c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}${c.fix ? `\n${' '.repeat(width + 8)}fix: ${c.fix}` : ''}`,
  );
  const bad = checks.filter((c) => !c.ok).length;
  return [...lines, '', bad ? `${bad} problem(s) found.` : 'Everything a batch needs is in place.'].join('\n');
}

/** The exit code of the first failure, so scripts can tell "no worker" from "server down". */
export function doctorExit(checks: Check[]): void {
  const first = checks.find((c) => !c.ok);
  if (first) throw new CliError('doctor found problems (see above)', first.exitCode ?? EXIT.UNEXPECTED);
}
