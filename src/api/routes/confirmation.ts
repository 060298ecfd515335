import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../context.js';
import { OCI_PREFIX } from '../prefixes.js';
import { query } from '../request.js';

type ById = { Params: { subscriptionId: string } };

/** A person clicking a link in a mail client wants a page; SDK calls send no text/html Accept. */
function wantsHtml(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/html') && req.headers.authorization === undefined;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(reply: FastifyReply, title: string, lines: string[]): FastifyReply {
  const body = lines.map((l) => `<p>${l}</p>`).join('\n');
  return reply
    .type('text/html; charset=utf-8')
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1>\n${body}</main></body></html>`);
}

/**
 * The confirmation and unsubscribe links are clicked in browsers and mail
 * clients, so they are the only OCI routes that carry no signature: the token
 * in the URL is the authority.
 */
export function registerConfirmationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // GET acts on the link, so HEAD must not run it: mail scanners probe links with HEAD, and a probe must neither
  // confirm nor unsubscribe anyone. HEAD answers an empty page and changes nothing.
  const link = { config: { unsigned: true }, exposeHeadRoute: false };
  for (const action of ['confirmation', 'unsubscription']) {
    app.head(`${OCI_PREFIX}/subscriptions/:subscriptionId/${action}`, { config: { unsigned: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send());
  }

  app.get<ById>(`${OCI_PREFIX}/subscriptions/:subscriptionId/confirmation`, link, async (req, reply) => {
    const q = query(req);
    const result = await deps.subscriptions.confirm(req.params.subscriptionId, q.token, q.protocol);
    if (wantsHtml(req)) {
      return page(reply, 'Subscription confirmed', [
        `${escapeHtml(result.message)} You will receive messages published to the topic <strong>${escapeHtml(result.topicName)}</strong> at ${escapeHtml(result.endpoint)}.`,
        `To stop receiving them: <a href="${escapeHtml(result.unsubscribeUrl)}">unsubscribe</a>.`,
      ]);
    }
    return reply.send(result);
  });

  app.get<ById>(`${OCI_PREFIX}/subscriptions/:subscriptionId/unsubscription`, link, async (req, reply) => {
    const q = query(req);
    const message = await deps.subscriptions.unsubscribe(req.params.subscriptionId, q.token, q.protocol);
    if (wantsHtml(req)) return page(reply, 'Unsubscribed', [escapeHtml(message)]);
    // GetUnsubscription's response model is a bare JSON string.
    return reply.type('application/json').send(JSON.stringify(message));
  });
}
