import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HERALD_PREFIX, type ApiDeps } from '../api/http-server.js';
import { parseJson } from '../api/request.js';
import { NotAuthenticatedError, TooManyRequestsError } from '../core/errors.js';
import { CSRF_HEADER, readCookie, SESSION_COOKIE, SESSION_TTL_SECONDS, sessionCookie, type ConsoleAuth } from './auth.js';

const loginBody = z.object({ username: z.string().max(200), password: z.string().max(1000) });

const sessionIdOf = (req: FastifyRequest): string | undefined => readCookie(req.headers.cookie, SESSION_COOKIE);

/** Sign-in, session and logout for the web console; these routes authenticate themselves. */
export function registerConsoleSessionRoutes(app: FastifyInstance, deps: ApiDeps, auth: ConsoleAuth): void {
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

/** A small JSON summary for the console's overview page (signed or session-authenticated like the rest). */
export function registerConsoleOverviewRoute(app: FastifyInstance, deps: ApiDeps): void {
  app.get(`${HERALD_PREFIX}/console/overview`, async (req) => {
    if (req.caller === null) throw new NotAuthenticatedError();
    const m = await deps.metrics();
    const samples: Record<string, number> = {};
    for (const line of m.body.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (match === null) continue;
      const key = (match[1] ?? '') + (match[2] ?? '');
      samples[key] = Number(match[3]);
    }
    return { timeGenerated: new Date().toISOString(), samples };
  });
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
  delete req.headers[CSRF_HEADER];
  return true;
}
