import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiDeps, SessionAuth } from '../api/context.js';
import { HERALD_PREFIX } from '../api/prefixes.js';
import { parseJson } from '../api/request.js';
import { InvalidParameterError, NotAuthenticatedError, TooManyRequestsError } from '../core/errors.js';
import { STATS_RANGES, type StatsRange } from '../core/stats.js';
import { CSRF_HEADER, SESSION_COOKIE, SESSION_TTL_SECONDS, sessionCookie, type ConsoleAuth } from './auth.js';

const loginBody = z.object({ username: z.string().max(200), password: z.string().max(1000) });

/**
 * @fastify/cookie (registered before the authentication hook) has parsed the Cookie header; a value that is not
 * valid percent-encoding is left as sent, so it names no session (a 401), never a URIError.
 */
const sessionIdOf = (req: FastifyRequest): string | undefined => req.cookies[SESSION_COOKIE];

/** Parses every request's Cookie header into request.cookies; register it before the hook calling consoleCaller. */
export function registerConsoleCookies(app: FastifyInstance): void {
  void app.register(fastifyCookie);
}

/** Sign-in, session and logout for the web console; these routes authenticate themselves. */
export function registerConsoleSessionRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'publicUrl'>, auth: ConsoleAuth): void {
  const secure = (): boolean => deps.publicUrl().startsWith('https:');
  const base = `${HERALD_PREFIX}/console/session`;

  app.post(base, { config: { unsigned: true } }, async (req, reply) => {
    const body = parseJson(req, loginBody, 'ConsoleLoginDetails');
    const result = await auth.login(body.username, body.password, { client: req.ip });
    if (!result.ok) {
      if (result.reason === 'throttled') {
        throw new TooManyRequestsError('Too many failed sign-ins; wait and try again.', Math.ceil(result.retryAfterMs / 1000));
      }
      req.log.warn({ username: body.username }, 'console sign-in failed');
      throw new NotAuthenticatedError('Wrong username or password.');
    }
    reply.header('set-cookie', sessionCookie(result.sessionId, SESSION_TTL_SECONDS, secure()));
    return { user: result.session.username, csrfToken: result.session.csrfToken };
  });

  app.get(base, { config: { unsigned: true } }, async (req) => {
    const found = await auth.session(sessionIdOf(req));
    if (found === undefined) throw new NotAuthenticatedError('No console session.');
    return { user: found.user.username, tenancyId: found.user.tenancyId, csrfToken: found.session.csrfToken };
  });

  app.delete(base, { config: { unsigned: true } }, async (req, reply) => {
    const id = sessionIdOf(req);
    const found = await auth.session(id);
    if (found !== undefined) {
      const csrf = req.headers[CSRF_HEADER];
      if (csrf !== found.session.csrfToken) throw new NotAuthenticatedError('Missing or wrong CSRF token.');
      await auth.logout(id);
    }
    reply.header('set-cookie', sessionCookie('', 0, secure()));
    return reply.status(204).send();
  });
}

/** The window of the overview's "published" figure. */
const PUBLISHED_WINDOW_MS = 60_000;

/**
 * The console's overview page: the caller's own tenancy, counted in the store. Not /metrics: its queue and
 * throughput figures are the whole installation's, every tenancy's together.
 */
export function registerConsoleOverviewRoute(app: FastifyInstance, deps: Pick<ApiDeps, 'activity'>): void {
  app.get(`${HERALD_PREFIX}/console/overview`, async (req) => {
    if (req.caller === null) throw new NotAuthenticatedError();
    const now = Date.now();
    const c = await deps.activity.overview(req.caller, now - PUBLISHED_WINDOW_MS);
    return {
      timeGenerated: new Date(now).toISOString(),
      topics: c.topics,
      subscriptions: c.subscriptions,
      pending: c.pending,
      inFlight: c.inFlight,
      deadLetters: c.dead,
      publishedLastMinute: c.published,
    };
  });

  // The overview's history, from the stored per-minute counters: the last hour by minute or the last day by 15 minutes.
  app.get(`${HERALD_PREFIX}/console/stats`, async (req) => {
    if (req.caller === null) throw new NotAuthenticatedError();
    const range = (req.query as Record<string, unknown>).range ?? 'hour';
    if (typeof range !== 'string' || !Object.hasOwn(STATS_RANGES, range)) throw new InvalidParameterError('range must be hour or day.');
    return deps.activity.stats(req.caller, range as StatsRange);
  });
}

/** The API server's session check (SessionAuth) for console sessions: resolves the caller from the session cookie. */
export function consoleSessionAuth(auth: ConsoleAuth): SessionAuth {
  return (req) => consoleCaller(req, auth);
}

/** Resolves the caller for a request carrying a console session cookie (no OCI signature). */
export async function consoleCaller(req: FastifyRequest, auth: ConsoleAuth): Promise<boolean> {
  if (req.headers.authorization !== undefined) return false;
  const id = sessionIdOf(req);
  if (id === undefined || id === '') return false;
  const csrf = req.headers[CSRF_HEADER];
  const result = await auth.callerFor(id, req.method, typeof csrf === 'string' ? csrf : undefined);
  if (result === 'no-session') throw new NotAuthenticatedError('The console session is missing or expired; sign in again.');
  if (result === 'csrf') throw new NotAuthenticatedError('A state-changing console request must carry the x-csrf-token header.');
  req.caller = result;
  // The session must never travel further (e.g. into a function's headers on invoke).
  delete req.headers.cookie;
  delete req.cookies[SESSION_COOKIE];
  delete req.headers[CSRF_HEADER];
  return true;
}
