import { InvalidParameterError } from './errors.js';

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;
/** Far beyond any real listing; keeps offsets inside what both databases accept. */
const MAX_OFFSET = 1_000_000_000;

/**
 * Page tokens are opaque to clients (the SDK copies opc-next-page into `page`
 * verbatim). A version tag lets the encoding change without breaking tokens
 * that are in flight during an upgrade.
 */
export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ v: 1, o: offset })).toString('base64url');
}

export function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'o' in parsed) {
      const o = (parsed as { o: unknown }).o;
      if (typeof o === 'number' && Number.isSafeInteger(o) && o >= 0 && o <= MAX_OFFSET) return o;
    }
  } catch {
    // fall through to the uniform error below
  }
  throw new InvalidParameterError('The page token is invalid.');
}

export function parseLimit(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PAGE_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_LIMIT) {
    throw new InvalidParameterError(`limit must be an integer from 1 to ${MAX_PAGE_LIMIT}.`);
  }
  return n;
}
