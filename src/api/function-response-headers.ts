/**
 * Which of a function's response headers the invoke route passes on to its caller.
 *
 * A function's answer is served from Herald's own origin, so a header that means something to
 * that origin (cookies, CORS, HSTS, CSP), to the connection (hop-by-hop headers), or that Herald
 * sets itself (Content-Length, opc-request-id) is dropped. Everything else (Content-Type, Fn-*,
 * the function's own X-* headers) passes through unchanged.
 */

/** Dropped whatever their case. */
const DROPPED = new Set([
  // Cookies for Herald's origin.
  'set-cookie',
  'set-cookie2',
  // Hop-by-hop (RFC 9110 7.6.1, plus the legacy names).
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  // Security policy for Herald's origin.
  'strict-transport-security',
  'content-security-policy',
  // Herald's own.
  'content-length',
  'opc-request-id',
]);

/** Every CORS response header (Access-Control-Allow-Origin, -Allow-Credentials, -Expose-Headers, ...). */
const CORS_PREFIX = 'access-control-';

/** Header names listed in a Connection value (`close, X-Foo`), lower-cased. */
function connectionTokens(value: string | undefined): Set<string> {
  const out = new Set<string>();
  if (value === undefined) return out;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '') out.add(name);
  }
  return out;
}

/** Whether the invoke route may return this header of the function's answer (connection: names from its Connection header). */
function isReturned(name: string, connection: ReadonlySet<string>): boolean {
  const lower = name.toLowerCase();
  return !DROPPED.has(lower) && !lower.startsWith(CORS_PREFIX) && !connection.has(lower);
}

/** The function's response headers that the invoke route returns to the caller, names as the function gave them. */
export function functionResponseHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const connection = new Set<string>();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === 'connection') for (const t of connectionTokens(v)) connection.add(t);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (isReturned(k, connection)) out[k] = v;
  return out;
}
