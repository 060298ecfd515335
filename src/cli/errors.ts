import { ApiError } from './client.js';

/**
 * What went wrong on the CLI's side, before or without the server saying so:
 * - usage: the arguments are wrong or contradict each other (--body with
 *   --body-file, a malformed --max-retry-duration, an ambiguous name);
 * - not-found: a name or file the user gave resolves to nothing.
 */
export type CliErrorKind = 'usage' | 'not-found';

/**
 * Exit codes by kind. Usage is 1, not the getopt-style 2, because commander
 * (which reports missing and unknown options before any action runs) exits 1
 * in this CLI; both kinds of bad argument should exit alike.
 */
export const EXIT_CODES: Readonly<Record<CliErrorKind, number>> = { usage: 1, 'not-found': 1 };

/**
 * An error the CLI decided itself. Unlike ApiError it carries no HTTP status
 * or OCI error code, so it is never mistaken for (or printed as) an answer of
 * the server.
 */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    readonly kind: CliErrorKind,
    message: string,
  ) {
    super(message);
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

export const usageError = (message: string): CliError => new CliError('usage', message);
export const notFoundError = (message: string): CliError => new CliError('not-found', message);

/**
 * The one place errors reach the user: the server's as "herald: STATUS CODE:
 * message", the CLI's own as "herald: message". Anything else is a bug and is
 * rethrown, so node prints its stack.
 */
export function exitWithError(err: unknown): never {
  if (err instanceof ApiError) {
    process.stderr.write(`herald: ${err.status} ${err.code}: ${err.message}\n`);
    process.exit(1);
  }
  if (err instanceof CliError) {
    process.stderr.write(`herald: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  throw err;
}
