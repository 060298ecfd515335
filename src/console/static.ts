import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** The built SPA: dist/console from both dist/src/console/ (compiled) and src/console/ (tsx). */
function consoleDir(): string | undefined {
  for (const rel of ['../../console/', '../../dist/console/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/**
 * What the built console loads (see dist/console/index.html): its own module script and stylesheet, a `data:`
 * icon, and fetches to its own origin. Styles may be inline (the pages set a few style attributes).
 */
const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  imgSrc: ["'self'", 'data:'],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
};

/**
 * Serves the console's built assets at /console, with the SPA fallback to index.html. Hashed files under
 * assets/ are cached for good; everything else (index.html) is revalidated on every load, so a new build shows
 * at once. Helmet's headers apply to these routes only (registered in their own scope): the API answers JSON.
 */
export function registerConsoleStatic(app: FastifyInstance): void {
  const root = consoleDir();
  void app.register(async (scope) => {
    await scope.register(fastifyHelmet, {
      // Not helmet's default: Herald is often reached over plain HTTP on a private network, where an upgrade to
      // https would break every asset the page loads.
      contentSecurityPolicy: { useDefaults: false, directives: { ...CSP_DIRECTIVES, upgradeInsecureRequests: null } },
      frameguard: { action: 'deny' },
      // The console's own host only: other services may share the parent domain.
      strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
    });
    if (root === undefined) {
      scope.get('/console/*', async (_req, reply) => reply.status(404).type('text/plain').send('The web console is not built: run `npm run build`.'));
    } else {
      // serve: false: our route decides between a file and the SPA fallback; the plugin sends it (ETag, 304, range).
      await scope.register(fastifyStatic, { root, serve: false });
      const assets = join(root, 'assets') + sep;
      const send = async (reply: FastifyReply, rel: string): Promise<FastifyReply> => {
        const file = normalize(join(root, rel));
        const inside = file.startsWith(root) && !rel.includes('\0');
        if (inside && (await stat(file).catch(() => undefined))?.isFile() === true) {
          if (file.startsWith(assets)) return reply.sendFile(relative(root, file), { maxAge: '365d', immutable: true });
          return reply.header('cache-control', 'no-cache').sendFile(relative(root, file), { cacheControl: false });
        }
        return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
      };
      scope.get<{ Params: { '*': string } }>('/console/*', async (req, reply) => send(reply, req.params['*']));
    }
    scope.get('/console', async (_req, reply) => reply.redirect('/console/'));
  });
}
