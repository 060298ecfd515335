import { clientErrorHandler, newRequestId } from './client-errors.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { verifySignedBody, verifySignedHeaders, type Caller, type PublicKeyLookup } from './auth/signature.js';
import { fromFrameworkError, STATUS_BY_CODE, type OciErrorBody } from './errors.js';
import { rawBody } from './request.js';
import { registerApplicationRoutes } from './routes/applications.js';
import { registerCompartmentRoutes } from './routes/compartments.js';
import { registerIdentityRoutes } from './routes/identity/index.js';
import { registerConfirmationRoutes } from './routes/confirmation.js';
import { registerDeliveryRoutes } from './routes/deliveries.js';
import { registerFunctionRoutes } from './routes/functions.js';
import { registerMessageRoutes } from './routes/messages.js';
import { registerSubscriptionRoutes } from './routes/subscriptions.js';
import { registerTopicActivityRoutes } from './routes/topic-activity.js';
import { registerTopicRoutes } from './routes/topics.js';
import type { ActivityService } from '../core/activity.js';
import type { ApplicationService } from '../core/applications.js';
import { HeraldError, NotAuthenticatedError, TooManyRequestsError } from '../core/errors.js';
import type { FunctionInvoker, FunctionService } from '../core/functions.js';
import type { SubscriptionLinks } from '../core/links.js';
import type { MessageService } from '../core/messages.js';
import type { SubscriptionService } from '../core/subscriptions.js';
import type { TopicService } from '../core/topics.js';
import type { CompartmentService } from '../core/iam/compartment-service.js';
import type { GroupService } from '../core/iam/groups.js';
import type { PolicyService } from '../core/iam/policies.js';
import type { UserService } from '../core/iam/users.js';
// Web console (issue 7): session-cookie auth beside signatures, its session routes and static assets.
import type { ConsoleAuth } from '../console/auth.js';
import { consoleCaller, registerConsoleCookies, registerConsoleOverviewRoute, registerConsoleSessionRoutes } from '../console/routes.js';
import { registerConsoleStatic } from '../console/static.js';

import { HERALD_PREFIX, IDENTITY_PREFIX, OCI_PREFIX } from './prefixes.js';
export { HERALD_PREFIX, IDENTITY_PREFIX, OCI_PREFIX };
/** Generous enough for a 64 KB message JSON-escaped; the domain enforces the real limit. */
const BODY_LIMIT = 1024 * 1024;

export interface IamServices {
  users: UserService;
  groups: GroupService;
  policies: PolicyService;
  compartments: CompartmentService;
}

export interface ApiDeps {
  /** Console sign-in and sessions; a session stands in for a signature. */
  consoleAuth: ConsoleAuth;
  topics: TopicService;
  subscriptions: SubscriptionService;
  messages: MessageService;
  /** OCI Functions management (applications, functions, bundles). */
  applications: ApplicationService;
  functions: FunctionService;
  /** Runs functions for the invoke route; the process runtime implements it. */
  functionInvoker: FunctionInvoker;
  links: SubscriptionLinks;
  publicKeys: PublicKeyLookup;
  /** OCI Identity: users, groups, policies, compartments (each call authorized by policy). */
  iam: IamServices;
  /** Traces, dead letters, recent messages, mailbox, signing secrets. */
  activity: ActivityService;
  /** The origin clients reach Herald at; it is the topic's apiEndpoint. */
  publicUrl: () => string;
  /** Tells the delivery engine that work may be due (after a re-drive). */
  wakeDelivery: () => void;
  /** Prometheus exposition for /metrics. */
  metrics: () => Promise<{ contentType: string; body: string }>;
  logger: Logger;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
    /** The URL exactly as the client sent it, before rewriting: the signature covers it. */
    signedUrl: string;
    /** The headers a verified signature covered; its body half is checked once the body has arrived. */
    signedHeaders: ReadonlySet<string> | null;
  }
  interface FastifyContextConfig {
    /** Routes whose authority is a token in the URL rather than a signature. */
    unsigned?: boolean;
  }
}

/** The authenticated caller; routes behind the signature hook always have one. */
export function callerOf(req: FastifyRequest): Caller {
  if (req.caller === null) throw new NotAuthenticatedError();
  return req.caller;
}

export function buildHttpServer(deps: ApiDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request log lines cost more than the request on the publish hot path.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // OCIDs run to ~150 characters; fastify's default of 100 would answer 414 in its own shape.
    routerOptions: { maxParamLength: 512 },
    // Errors fastify raises before routing (bad percent-encoding, ...) must still be OCI-shaped.
    frameworkErrors: (err, req, reply) => {
      const body = fromFrameworkError(err) ?? { code: 'InvalidParameter' as const, message: err.message };
      const r = reply as unknown as FastifyReply;
      void r.header('opc-request-id', req.id).code(STATUS_BY_CODE[body.code]).type('application/json').send(body);
    },
    requestIdHeader: 'opc-request-id',
    genReqId: newRequestId,
    clientErrorHandler,
    // The SDK turns an endpoint with a trailing slash into //20181201/...; accept it.
    rewriteUrl: (req) => {
      (req as { heraldOriginalUrl?: string }).heraldOriginalUrl = req.url;
      return (req.url ?? '/').replace(/^\/{2,}/, '/');
    },
  });

  const { consoleAuth } = deps;
  // Before the authentication hook below: that hook reads the console's session cookie.
  registerConsoleCookies(app);
  app.decorateRequest('caller', null);
  app.decorateRequest('signedUrl', '');
  app.decorateRequest('signedHeaders', null);
  // Every body is kept as raw bytes: the signature hashes them and each route parses its own JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Authentication runs before the body is read, so a request without a valid session or signature is refused
  // at the cost of its headers, whatever it uploads; the signed digest is checked once the body has arrived.
  app.addHook('onRequest', async (req, reply) => {
    req.signedUrl = (req.raw as { heraldOriginalUrl?: string }).heraldOriginalUrl ?? req.raw.url ?? req.url;
    reply.header('opc-request-id', req.id);
    // The matched route's pattern, not the raw URL: `/%68erald/v1/...` routes to `/herald/v1/...` and must be
    // guarded like it (each handler's callerOf would still refuse it, but only after it had run).
    const pattern = req.routeOptions.url ?? '';
    const guarded = [OCI_PREFIX, IDENTITY_PREFIX, HERALD_PREFIX].some((prefix) => pattern.startsWith(prefix + '/'));
    if (!guarded || req.routeOptions.config.unsigned === true) return;
    // Web console: a session cookie (plus the CSRF header on writes) stands in for a signature.
    if (await consoleCaller(req, consoleAuth)) return;
    const verified = await verifySignedHeaders({ method: req.method, url: req.signedUrl, headers: req.headers }, deps.publicKeys);
    req.caller = verified.caller;
    req.signedHeaders = verified.signed;
  });

  app.addHook('preHandler', async (req) => {
    if (req.signedHeaders !== null) verifySignedBody({ method: req.method, headers: req.headers, body: rawBody(req) }, req.signedHeaders);
  });

  app.setErrorHandler((err, req, reply) => {
    let body: OciErrorBody;
    if (err instanceof HeraldError) {
      body = { code: err.code, message: err.message };
      if (err instanceof TooManyRequestsError) reply.header('retry-after', String(err.retryAfterSeconds));
    } else {
      const mapped = fromFrameworkError(err as { code?: string; statusCode?: number; message: string });
      if (mapped === undefined) {
        req.log.error({ err, url: req.url, method: req.method }, 'unhandled error');
        body = { code: 'InternalServerError', message: 'Internal error; see the server log for opc-request-id ' + req.id + '.' };
      } else {
        body = mapped;
      }
    }
    if (body.code === 'NotAuthenticated') req.log.info({ url: req.url, reason: body.message }, 'request not authenticated');
    void reply.status(STATUS_BY_CODE[body.code]).type('application/json').send(body);
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).type('application/json').send({ code: 'NotFound', message: `No route for ${req.method} ${req.url}.` });
  });

  app.get('/health', async () => ({ status: 'ok' }));
  // Unsigned like /health, for Prometheus scrapers: installation-wide counts only, no series labelled by tenancy,
  // compartment, topic or subscription (test/server/metrics-scope.test.ts). Bind Herald privately or front it.
  app.get('/metrics', async (_req, reply) => {
    const m = await deps.metrics();
    return reply.type(m.contentType).send(m.body);
  });

  registerTopicRoutes(app, deps);
  registerSubscriptionRoutes(app, deps);
  registerConfirmationRoutes(app, deps);
  registerMessageRoutes(app, deps);
  registerCompartmentRoutes(app, deps);
  registerIdentityRoutes(app, deps);
  registerDeliveryRoutes(app, deps);
  registerTopicActivityRoutes(app, deps);
  registerApplicationRoutes(app, deps);
  registerFunctionRoutes(app, deps);
  registerConsoleSessionRoutes(app, deps, consoleAuth);
  registerConsoleOverviewRoute(app, deps);
  registerConsoleStatic(app);
  return app;
}
