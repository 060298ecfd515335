import type { FastifyRequest } from 'fastify';
import { InvalidParameterError } from '../../../core/errors.js';
import type { Query } from '../../request.js';

/**
 * The Identity SDK does not percent-encode query values (oci-identity.md §1): a user
 * name `a+b@x.com` arrives as is, and form decoding would turn its `+` into a space.
 * So Identity routes read the raw query, decoding only `%XX`.
 */
export function rawQuery(req: FastifyRequest): Query {
  const url = req.raw.url ?? '';
  const at = url.indexOf('?');
  const out: Query = {};
  if (at < 0) return out;
  for (const part of url.slice(at + 1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const raw = eq < 0 ? '' : part.slice(eq + 1);
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      throw new InvalidParameterError(`Query parameter ${key} is not valid percent-encoding.`);
    }
    if (value.includes('\0')) throw new InvalidParameterError(`Query parameter ${key} must not contain NUL characters.`);
    // A repeated key is a client bug; the first wins, as elsewhere.
    if (!(key in out)) out[key] = value;
  }
  return out;
}

export function parseBool(raw: string | undefined, name: string): boolean | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new InvalidParameterError(`${name} must be true or false.`);
}
