/**
 * The Graph stand-in as a lab process: `tsx lab/graph/main.ts --lab <dir>`
 * (started by `lab up`; the lab directory on its command line is how `down`
 * and `status` know it is this lab's).
 */
import { existsSync } from 'node:fs';
import { LAB_HOST, PORTS } from '../config';
import { oauthPaths, readRegistration } from '../oauth/register';
import { tokenEndpoints } from '../oauth/server';
import { dcPaths } from '../servers/samba';
import { GRAPH_MODULES } from './modules';
import { createGraphServer } from './server';

const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
/** the lab's token endpoint, when registered: its JWTs are the tokens msal-node gets for Graph */
function labJwks() {
  if (!existsSync(oauthPaths().config)) return undefined;
  const urls = tokenEndpoints(readRegistration());
  return { jwksUrl: urls.jwks, issuer: urls.accessTokenIssuer, caFile: dcPaths().ca };
}

/** MAILFERRY_GRAPH_PAGE_SIZE: every tenant's collection pages this small (e.g. the demo with paging); unset: Graph's own sizes */
const pageSize = Number(process.env.MAILFERRY_GRAPH_PAGE_SIZE ?? 0);
if (!Number.isInteger(pageSize) || pageSize < 0) {
  log(`MAILFERRY_GRAPH_PAGE_SIZE=${process.env.MAILFERRY_GRAPH_PAGE_SIZE} is not a whole number of items`);
  process.exit(1);
}
const standIn = createGraphServer({ port: PORTS.graph, host: LAB_HOST, modules: GRAPH_MODULES, jwks: labJwks(), log, pageSize });
standIn
  .listen()
  .then(() => log(`Graph stand-in listening on http://${LAB_HOST}:${PORTS.graph}/v1.0`))
  .catch((error: Error) => {
    log(`cannot listen on ${LAB_HOST}:${PORTS.graph}: ${error.message}`);
    process.exit(1);
  });
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void standIn.close().then(() => process.exit(0)));
