import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { CannotParseRequestError, InvalidParameterError, MissingParameterError } from '../core/errors.js';

/** Bodies arrive as raw Buffers (the signature covers the exact bytes); JSON is parsed here. */
export function rawBody(req: FastifyRequest): Buffer | undefined {
  return Buffer.isBuffer(req.body) ? req.body : undefined;
}

export function parseJson<S extends z.ZodType>(req: FastifyRequest, schema: S, what: string): z.infer<S> {
  const raw = rawBody(req);
  // The SDK sends no body at all when the model serialises to "{}".
  const text = raw === undefined || raw.length === 0 ? '{}' : raw.toString('utf8');
  // PostgreSQL text cannot hold NUL, and no OCI field needs it: refuse it everywhere alike.
  if (text.includes('\\u0000') || text.includes('\0')) throw new InvalidParameterError(`The ${what} body must not contain NUL characters.`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CannotParseRequestError(`The ${what} body is not valid JSON.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CannotParseRequestError(`The ${what} body must be a JSON object.`);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  if (issue !== undefined && valueAt(value, issue.path) === undefined) throw new MissingParameterError(path);
  throw new InvalidParameterError(`Invalid ${path || what}: ${issue?.message ?? 'invalid value'}.`);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

export function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

export type Query = Record<string, string | undefined>;

/** Repeated query keys are a client bug; take the first rather than crash on arrays. */
export function query(req: FastifyRequest): Query {
  const out: Query = {};
  const q = req.query as Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(q ?? {})) {
    const s = Array.isArray(v) ? v[0] : v;
    if (typeof s === 'string' && s.includes('\0')) throw new InvalidParameterError(`Query parameter ${k} must not contain NUL characters.`);
    out[k] = typeof s === 'string' ? s : undefined;
  }
  return out;
}
