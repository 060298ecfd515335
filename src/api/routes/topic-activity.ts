import type { FastifyInstance } from 'fastify';
import { callerOf, type ApiDeps } from '../context.js';
import { limitOnly } from '../paging.js';
import { HERALD_PREFIX } from '../prefixes.js';
import { query } from '../request.js';
import { InvalidParameterError } from '../../core/errors.js';

export { MAX_STATS_TOPICS, RECENT_WINDOW_MS } from '../../core/activity.js';
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
    const limit = limitOnly(query(req));
    const messages = await deps.activity.recentMessages(callerOf(req), req.params.topicId, limit);
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
   * caller may not see count 0, like empty ones.
   */
  app.get(`${HERALD_PREFIX}/topicStats`, async (req) => {
    const topicIds = [...new Set(allValues((req.query as Record<string, unknown> | undefined)?.topicId))];
    return deps.activity.topicStats(callerOf(req), topicIds);
  });
}
