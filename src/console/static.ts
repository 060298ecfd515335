import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** The built SPA: dist/console from both dist/src/console/ (compiled) and src/console/ (tsx). */
function consoleDir(): string | undefined {
  for (const rel of ['../../console/', '../../dist/console/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/** Serves the console's built assets at /console, with the SPA fallback to index.html. */
export function registerConsoleStatic(app: FastifyInstance): void {
  const root = consoleDir();
  const send = async (reply: FastifyReply, rel: string): Promise<FastifyReply> => {
    if (root === undefined) {
      return reply.status(404).type('text/plain').send('The web console is not built: run `npm run build`.');
    }
    let file = normalize(join(root, rel));
    if (!file.startsWith(root) || rel.includes('\0')) file = join(root, 'index.html');
    const info = await stat(file).catch(() => undefined);
    const isAsset = info?.isFile() === true;
    if (!isAsset) file = join(root, 'index.html');
    const body = await readFile(file);
    const immutable = isAsset && file.startsWith(join(root, 'assets') + sep);
    return reply
      .type(TYPES[extname(file)] ?? 'application/octet-stream')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
      .send(body);
  };
  app.get('/console', async (_req, reply) => reply.redirect('/console/'));
  app.get<{ Params: { '*': string } }>('/console/*', async (req, reply) => send(reply, req.params['*'] === '' ? 'index.html' : req.params['*']));
}
