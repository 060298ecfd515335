import { validateHeaderName, validateHeaderValue, type IncomingHttpHeaders } from 'node:http';
import type { InvokeRequest } from './types.js';

/** Hop-by-hop headers never cross the runtime (Fn common/io_utils.go). */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Headers the runtime owns on the request to the FDK; caller copies are dropped. */
const RUNTIME_OWNED = new Set(['host', 'content-length', 'content-type', 'expect', 'fn-call-id', 'fn-deadline']);

const GATEWAY_PREFIX = 'fn-http-h-';

export function isGatewayRequest(req: InvokeRequest): boolean {
  return req.method !== undefined || req.url !== undefined;
}

function validHeader(name: string, value: string): boolean {
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Headers for `POST /call` (reference §1.4).
 * - Plain invoke (/invoke, OCI invokeFunction): caller headers pass through as-is
 *   (so OCI's `fn-intent` or ONS's `X-OCI-NS-*` reach the function).
 * - Gateway mode (method or url given, i.e. an HTTP trigger): every caller header
 *   except Content-Type becomes `Fn-Http-H-<name>`, plus `Fn-Http-Method`,
 *   `Fn-Http-Request-Url` and `Fn-Intent: httprequest`, as Fn's httptrigger does.
 * Fn-Deadline: ISO-8601 with milliseconds; both FDKs parse it (fdk-node Date.parse, fdk-python iso8601).
 * Headers node:http would reject (CR/LF, non-token names) are dropped rather than failing the call.
 */
export function buildCallHeaders(req: InvokeRequest, callId: string, deadline: Date): Record<string, string> {
  const out: Record<string, string> = { 'Fn-Call-Id': callId, 'Fn-Deadline': deadline.toISOString() };
  const callerHeaders = req.headers ?? {};
  let contentType = req.contentType;
  if (contentType === undefined) {
    for (const [k, v] of Object.entries(callerHeaders)) if (k.toLowerCase() === 'content-type') contentType = v;
  }
  if (contentType !== undefined && validHeader('Content-Type', contentType)) out['Content-Type'] = contentType;
  const gateway = isGatewayRequest(req);
  if (gateway) {
    out['Fn-Intent'] = 'httprequest';
    out['Fn-Http-Method'] = (req.method ?? 'POST').toUpperCase();
    out['Fn-Http-Request-Url'] = req.url ?? '/';
  }
  for (const [k, v] of Object.entries(callerHeaders)) {
    const lk = k.toLowerCase();
    if (HOP_BY_HOP.has(lk) || RUNTIME_OWNED.has(lk)) continue;
    const name = gateway ? `Fn-Http-H-${k}` : k;
    if (gateway && (lk === 'fn-intent' || lk === 'fn-http-method' || lk === 'fn-http-request-url')) continue;
    if (!validHeader(name, v)) continue;
    out[name] = v;
  }
  return out;
}

export interface MappedResponse {
  headers: Record<string, string>;
  httpStatus?: number;
}

/**
 * Function response headers as Herald should relay them (reference §1.5, §2).
 * - `Fn-Http-H-<K>` becomes `<K>` (and wins over an unprefixed `<K>`).
 * - `Fn-Http-Status` is removed and returned as httpStatus when it is a valid code.
 * - Gateway mode keeps only Content-Type and the decapsulated headers, like Fn's
 *   trigger writer; plain invoke keeps every header except hop-by-hop and Content-Length
 *   (the body is buffered, so the length is recomputed by whoever sends it on).
 */
export function mapResponseHeaders(raw: IncomingHttpHeaders, gateway: boolean): MappedResponse {
  const plain: Record<string, string> = {};
  const decapsulated: Record<string, string> = {};
  let httpStatus: number | undefined;
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const k = key.toLowerCase();
    const v = Array.isArray(value) ? value.join(', ') : value;
    if (HOP_BY_HOP.has(k) || k === 'content-length') continue;
    if (k === 'fn-http-status') {
      const n = Number(v);
      if (Number.isInteger(n) && n >= 100 && n <= 599) httpStatus = n;
    } else if (k.startsWith(GATEWAY_PREFIX) && k.length > GATEWAY_PREFIX.length) {
      decapsulated[k.slice(GATEWAY_PREFIX.length)] = v;
    } else if (!gateway || k === 'content-type') {
      plain[k] = v;
    }
  }
  const headers = { ...plain, ...decapsulated };
  return httpStatus === undefined ? { headers } : { headers, httpStatus };
}

/** fdk-node sends {"message","detail"}; fdk-python sends the exception text. Keep it short. */
export function errorDetail(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const j = JSON.parse(text) as { detail?: unknown; message?: unknown };
    if (typeof j.detail === 'string') return j.detail.slice(0, 500);
    if (typeof j.message === 'string') return j.message.slice(0, 500);
  } catch {
    // not JSON
  }
  return text.slice(0, 500) || 'no details';
}
