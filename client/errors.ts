/**
 * The CLI's exit codes (documented in `mailferry --help` and the README) and
 * the one error class that carries them.
 */
export const EXIT = {
  OK: 0,
  UNEXPECTED: 1,
  BAD_INPUT: 2,
  TEMPORAL_UNREACHABLE: 3,
  REFUSED: 4,
  NOT_FOUND: 5,
} as const;

export const exitCodeHelp = `
Exit codes:
  0  success
  1  unexpected error (a bug: please report it with the message)
  2  bad input: a CSV that fails the structural checks, a bad option value
  3  the Temporal server is not reachable
  4  refused: a batch is already active, no active batch, the connection test failed
  5  not found: no such organisation, batch or mailbox`;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
