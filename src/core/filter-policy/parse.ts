import { compileFilterPolicy } from './compile.js';
import type { ParsedBody } from './match.js';
import type { CompiledFilterPolicy } from './model.js';
import { invalid } from './problems.js';

/** SNS's limit on a filter policy: 256 KB of UTF-8 JSON. */
export const FILTER_POLICY_MAX_BYTES = 262_144;

/** JSON text → compiled policy, with the size limit and JSON syntax errors reported as InvalidParameterError. */
export function parseFilterPolicy(text: string): CompiledFilterPolicy {
  // UTF-8 never takes fewer bytes than UTF-16 code units, so an over-long string is refused without encoding it.
  if (text.length > FILTER_POLICY_MAX_BYTES || Buffer.byteLength(text, 'utf8') > FILTER_POLICY_MAX_BYTES) {
    throw invalid(`Filter policy is too large: at most ${FILTER_POLICY_MAX_BYTES} bytes (256 KB) of UTF-8 JSON`);
  }
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch (e) {
    throw invalid(`Filter policy is not valid JSON: ${(e as Error).message}`);
  }
  return compileFilterPolicy(policy);
}

const NOT_JSON: ParsedBody = Object.freeze({ json: false });

/** Parses a message body once for all the subscriptions it is checked against. Text that is not JSON is kept as such. */
export function parseMessageBody(body: string): ParsedBody {
  try {
    return { json: true, value: JSON.parse(body) as unknown };
  } catch {
    return NOT_JSON;
  }
}
