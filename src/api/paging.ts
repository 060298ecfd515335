import type { FastifyReply } from 'fastify';
import type { Query } from './request.js';
import { decodePageToken, encodePageToken, parseLimit } from '../core/pagination.js';
import type { Page } from '../core/models.js';

/**
 * The list routes' paging, in one place: `limit` (an integer from 1 to 1000, 100 when absent or empty: "limit must
 * be an integer from 1 to 1000.") and `page` (the opaque token a previous answer's opc-next-page carried: "The page
 * token is invalid."), and the answer: a bare JSON array (the SDKs require it), with opc-next-page only while there
 * is more. Each route reads its query its own way (`query` or Identity's `rawQuery`) and passes it in.
 */
export interface PageRequest {
  offset: number;
  limit: number;
}

/**
 * Reads `limit` and `page`. Which is read first decides which error a request with both bad gets: the ONS and
 * Functions lists read `limit` first, the Identity lists `page` first (as they always have).
 */
export function pageRequest(q: Query, order: 'limit-first' | 'page-first' = 'limit-first'): PageRequest {
  if (order === 'page-first') {
    const offset = decodePageToken(q.page);
    return { offset, limit: parseLimit(q.limit) };
  }
  const limit = parseLimit(q.limit);
  return { offset: decodePageToken(q.page), limit };
}

/**
 * Reads `limit` alone, for lists without pages (newest first, cut at the limit). `whenAbsent` is the default when
 * the parameter is missing altogether (an empty `limit=` still means 100); `atMost` caps an accepted value.
 */
export function limitOnly(q: Query, opts: { whenAbsent?: number; atMost?: number } = {}): number {
  const limit = parseLimit(q.limit ?? (opts.whenAbsent === undefined ? undefined : String(opts.whenAbsent)));
  return opts.atMost === undefined ? limit : Math.min(limit, opts.atMost);
}

/**
 * Answers one page: the bare array of `wire(item)`, opc-next-page while there is more, and with `previous` (the
 * request it answers) opc-previous-page from the second page on, as ListTopics does.
 */
export function sendPage<T>(reply: FastifyReply, page: Page<T>, wire: (item: T) => unknown, previous?: PageRequest): FastifyReply {
  if (page.nextOffset !== null) void reply.header('opc-next-page', encodePageToken(page.nextOffset));
  if (previous !== undefined && previous.offset > 0) void reply.header('opc-previous-page', encodePageToken(Math.max(0, previous.offset - previous.limit)));
  return reply.send(page.items.map((item) => wire(item)));
}
