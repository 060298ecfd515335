import type { Application, FnFunction } from '../../core/function-models.js';
import type { FunctionInvoker } from '../../core/functions.js';
import { EXCERPT_LIMIT, traceHeaders, type ProtocolHandler, type SendContext, type SendResult } from '../protocol.js';

/** Finds a subscription's function (by the OCID in its endpoint) and its application, in the subscription's tenancy. */
export type FunctionLookup = (tenancyId: string, functionId: string) => Promise<{ fn: FnFunction; app: Application } | undefined>;

function ociTimestamp(d: Date): string {
  return d.toISOString().replace('Z', '+0000');
}

/**
 * ORACLE_FUNCTIONS: invokes the function with the message body, the X-OCI-NS-*
 * headers passed as the call's HTTP headers. A function error (502), a timeout
 * (504), a crash or an unknown function are failed attempts retried on the
 * subscription's schedule: the function may be fixed or redeployed in the window.
 */
export class FunctionsHandler implements ProtocolHandler {
  readonly protocols = ['ORACLE_FUNCTIONS'] as const;

  constructor(
    private readonly lookup: FunctionLookup,
    private readonly invoker: FunctionInvoker,
  ) {}


  async send(ctx: SendContext): Promise<SendResult> {
    if (ctx.kind === 'CONFIRMATION' || ctx.message === null) {
      // ORACLE_FUNCTIONS subscriptions are ACTIVE from the start; there is nothing to confirm.
      return { ok: true, reply: 'no confirmation needed' };
    }
    const target = await this.lookup(ctx.subscription.tenancyId, ctx.subscription.endpoint);
    if (target === undefined) return { ok: false, retryable: true, error: `Function ${ctx.subscription.endpoint} does not exist (or is not ACTIVE).` };
    const body = Buffer.from(ctx.message.body, 'utf8');
    const headers: Record<string, string> = {
      'x-oci-ns-messageid': ctx.message.id,
      'x-oci-ns-topicocid': ctx.topic.id,
      'x-oci-ns-topicname': ctx.topic.name,
      'x-oci-ns-messagetype': 'Notification',
      'x-oci-ns-unsubscribeurl': ctx.unsubscribeUrl,
      'x-oci-ns-timestamp': ociTimestamp(new Date()),
      ...traceHeaders(ctx),
    };
    if (ctx.message.title !== null) headers['x-oci-ns-title'] = ctx.message.title;
    const contentType = looksLikeJson(ctx.message.body) ? 'application/json' : 'text/plain; charset=utf-8';
    const r = await this.invoker.invoke(target, { body, contentType, headers }, { signal: ctx.signal });
    const excerpt = r.body.subarray(0, EXCERPT_LIMIT).toString('utf8');
    if (r.status >= 200 && r.status < 300) return { ok: true, statusCode: r.status, responseExcerpt: excerpt };
    return { ok: false, retryable: true, statusCode: r.status, error: r.error ?? `The function answered ${r.status}.`, responseExcerpt: excerpt };
  }

  async close(): Promise<void> {}
}

function looksLikeJson(s: string): boolean {
  const t = s.trimStart();
  if (!t.startsWith('{') && !t.startsWith('[')) return false;
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}
