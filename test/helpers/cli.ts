import assert from 'node:assert/strict';
import { cliFor } from './process.js';

/** What the CLI tests run against: a test server and its bootstrap config file. */
type Target = Parameters<typeof cliFor>[0];

export type Row = Record<string, unknown>;
export const json = <T = Row>(s: string): T => JSON.parse(s) as T;

/** Runs `herald args...` against the server and returns its stdout; it must exit 0. */
export async function ok(h: Target, args: string[], stdin?: string): Promise<string> {
  const r = await cliFor(h, args, stdin);
  assert.equal(r.code, 0, `herald ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Runs `herald args...`; it must exit 1 with stderr matching `pattern`. */
export async function fails(h: Target, args: string[], pattern: RegExp): Promise<void> {
  const r = await cliFor(h, args);
  assert.equal(r.code, 1, `herald ${args.join(' ')} should fail: ${r.stdout}`);
  assert.match(r.stderr, pattern);
}
