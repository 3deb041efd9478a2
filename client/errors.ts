/**
 * The CLI's exit codes (documented in `mailferry --help` and the README), the
 * one error class that carries them, and option errors worded with the flags.
 */
import type { ZodError } from 'zod';

export const EXIT = {
  OK: 0,
  UNEXPECTED: 1,
  BAD_INPUT: 2,
  TEMPORAL_UNREACHABLE: 3,
  REFUSED: 4,
  NOT_FOUND: 5,
  NOT_CONFIGURED: 6,
  NO_WORKER: 7,
  BATCH_ENDED: 8,
} as const;

export const exitCodeHelp = `
Exit codes:
  0  success
  1  unexpected error (a bug: please report it with the message)
  2  bad input: a CSV that fails the structural checks, a bad option value
  3  the Temporal server is not reachable
  4  refused: a batch is already active, no active batch, the connection test failed
  5  not found: no such organisation, batch or mailbox
  6  not configured: no or bad payload key, no organisation, a bad setting in .env or the environment
  7  no worker polls mailferry's task queue (start one: npm run worker)
  8  the batch waited for did not finish: terminated, timed out, cancelled or failed (the message says how)
Settings come from the environment, then --env-file FILE (MAILFERRY_ENV_FILE), else ./.env, else the
demo's .state/demo.env; \`mailferry init\` writes a .env, \`mailferry doctor\` checks it.`;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A CLI option as the admin typed it: Commander hands `--client-id` over as `clientId`. */
export const flagOf = (attribute: PropertyKey): string => `--${String(attribute).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** zod's verdict on parsed CLI options, one line per issue, each naming its flag (`--client-id: expected a GUID`). */
export function optionIssues(error: ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? flagOf(i.path[0]) : 'the options'}: ${i.message}`).join('\n');
}
