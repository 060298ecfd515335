import type { FastifyInstance } from 'fastify';
import { callerOf, HERALD_PREFIX, type ApiDeps } from '../http-server.js';
import { query } from '../request.js';
import { InvalidParameterError } from '../../core/errors.js';
import { MAX_PAGE_LIMIT, parseLimit } from '../../core/pagination.js';
import { checkTopicId } from '../../core/topics.js';

/** The window of GET topicStats' recentMessages. */
export const RECENT_WINDOW_MS = 24 * 60 * 60 * 1000;
/** How many topics one topicStats call may ask about. */
export const MAX_STATS_TOPICS = 100;
/** How much of a message's body the recent list shows. */
const BODY_EXCERPT = 200;

/** Every value of a possibly repeated query parameter. */
function allValues(raw: unknown): string[] {
  const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return values.map((v) => {
    if (typeof v !== 'string' || v.includes('\0')) throw new InvalidParameterError('topicId must be a topic OCID.');
    return v;
  });
}

/** Herald's own read-only views of topic activity, for the console: recent messages and per-topic counts. */
export function registerTopicActivityRoutes(app: FastifyInstance, deps: ApiDeps): void {
  /** The topic's newest messages (bare array, newest first); 404 when the topic is not the caller's. */
  app.get<{ Params: { topicId: string } }>(`${HERALD_PREFIX}/topics/:topicId/messages`, async (req) => {
    const { tenancyId } = callerOf(req);
    const limit = parseLimit(query(req).limit);
    const topic = await deps.topics.get(tenancyId, req.params.topicId);
    const messages = await deps.store.listRecentMessages(tenancyId, topic.id, limit);
    return messages.map((m) => ({
      id: m.id,
      title: m.title,
      body: m.body.slice(0, BODY_EXCERPT),
      timePublished: new Date(m.publishedAt).toISOString(),
    }));
  });

  /**
   * `?topicId=...&topicId=...` → `{ [topicId]: { subscriptions, recentMessages } }`: live
   * (not DELETED) subscriptions, and messages published in the last 24 hours. Topics the
   * caller does not own count 0, like empty ones.
   */
  app.get(`${HERALD_PREFIX}/topicStats`, async (req) => {
    const { tenancyId } = callerOf(req);
    const topicIds = [...new Set(allValues((req.query as Record<string, unknown> | undefined)?.topicId))];
    if (topicIds.length > MAX_STATS_TOPICS) throw new InvalidParameterError(`At most ${MAX_STATS_TOPICS} topicId values.`);
    for (const id of topicIds) checkTopicId(id);
    const recent = await deps.store.countRecentMessages(tenancyId, topicIds, Date.now() - RECENT_WINDOW_MS);
    const out: Record<string, { subscriptions: number; recentMessages: number }> = {};
    for (const topicId of topicIds) {
      let subscriptions = 0;
      for (let offset: number | null = 0; offset !== null; ) {
        const page = await deps.store.listSubscriptions({ tenancyId, topicId, offset, limit: MAX_PAGE_LIMIT });
        subscriptions += page.items.filter((s) => s.lifecycleState !== 'DELETED').length;
        offset = page.nextOffset;
      }
      out[topicId] = { subscriptions, recentMessages: recent[topicId] ?? 0 };
    }
    return out;
  });
}
