import { clientErrorHandler, newRequestId } from './client-errors.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { verifySignedBody, verifySignedHeaders } from './auth/signature.js';
import type { ApiDeps, ServerExtension } from './context.js';
import { sendError } from './error-reply.js';
import { fromFrameworkError } from './errors.js';
import { HERALD_PREFIX, IDENTITY_PREFIX, OCI_PREFIX } from './prefixes.js';
import { rawBody } from './request.js';
import { registerApplicationRoutes } from './routes/applications.js';
import { registerCompartmentRoutes } from './routes/compartments.js';
import { registerIdentityRoutes } from './routes/identity/index.js';
import { registerConfirmationRoutes } from './routes/confirmation.js';
import { registerDeliveryRoutes } from './routes/deliveries.js';
import { registerDeliveryControlRoutes } from './routes/delivery-control.js';
import { registerFunctionRoutes } from './routes/functions.js';
import { registerMessageRoutes } from './routes/messages.js';
import { registerSubscriptionRoutes } from './routes/subscriptions.js';
import { registerTopicActivityRoutes } from './routes/topic-activity.js';
import { registerTopicRoutes } from './routes/topics.js';
import { HeraldError, InvalidParameterError } from '../core/errors.js';

/** Generous enough for a 64 KB message JSON-escaped; the domain enforces the real limit. */
const BODY_LIMIT = 1024 * 1024;

/**
 * The API server: every route of src/api/routes behind one authentication hook and one error path
 * (src/api/error-reply.ts). `extension` is what the composition root mounts beside the API (the web console):
 * its plugins come first, its session check before the signature's, its routes after the API's.
 */
export function buildHttpServer(deps: ApiDeps, extension: ServerExtension = {}, tls?: { cert: Buffer; key: Buffer }): FastifyInstance {
  const app: FastifyInstance = Fastify({
    // HTTPS when the composition root has a certificate (its https.Server is where a reload swaps it in).
    ...(tls === undefined ? {} : { https: tls }),
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request log lines cost more than the request on the publish hot path.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // OCIDs run to ~150 characters; fastify's default of 100 would answer 414 in its own shape.
    routerOptions: { maxParamLength: 512 },
    // Errors fastify raises before routing (bad percent-encoding, ...) must still be OCI-shaped.
    frameworkErrors: (err, req, reply) => {
      sendError(req, reply as unknown as FastifyReply, fromFrameworkError(err) === undefined ? new InvalidParameterError(err.message) : err);
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

  // Before the authentication hook below: that hook may read what these plugins decorate requests with.
  extension.plugins?.(app);
  const { sessionAuth } = extension;
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
    if (sessionAuth !== undefined && (await sessionAuth(req))) return;
    const verified = await verifySignedHeaders({ method: req.method, url: req.signedUrl, headers: req.headers }, deps.publicKeys, {
      rsaPlacement: req.routeOptions.config.signatureCheckOffLoop === true ? 'adaptive' : 'inline',
      verifyThread: deps.verifyThread,
    });
    req.caller = verified.caller;
    req.signedHeaders = verified.signed;
  });

  app.addHook('preHandler', async (req) => {
    if (req.signedHeaders !== null) verifySignedBody({ method: req.method, headers: req.headers, body: rawBody(req) }, req.signedHeaders);
  });

  app.setErrorHandler((err, req, reply) => {
    sendError(req, reply, err);
  });

  app.setNotFoundHandler((req, reply) => {
    sendError(req, reply, new HeraldError('NotFound', `No route for ${req.method} ${req.url}.`));
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
  registerDeliveryControlRoutes(app, deps);
  registerTopicActivityRoutes(app, deps);
  registerApplicationRoutes(app, deps);
  registerFunctionRoutes(app, deps);
  extension.routes?.(app);
  return app;
}
