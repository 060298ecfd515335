import { InvalidParameterError } from '../errors.js';

const PREFIX = 'Invalid filter policy: ';

/** Every rejection carries the same prefix, so a caller can tell a policy problem from other bad parameters. */
export function invalid(problem: string): InvalidParameterError {
  return new InvalidParameterError(PREFIX + problem);
}

/** Names the policy key a problem was found under, so the operator checks need not know where they are used. */
export function within(key: string, error: unknown): unknown {
  if (!(error instanceof InvalidParameterError) || !error.message.startsWith(PREFIX)) return error;
  return invalid(`${show(key)}: ${error.message.slice(PREFIX.length)}`);
}

/** A policy value as it appears in a message; compileFilterPolicy may be handed values JSON cannot hold. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  // A 256 KB string quoted back in full would bury the message.
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
