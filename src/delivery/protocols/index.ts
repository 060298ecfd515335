/** Builds the protocol handlers the dispatcher looks up by a subscription's protocol. */
import type { SmsConfig } from '../../config/config.js';
import type { FunctionInvoker } from '../../core/functions.js';
import type { Protocol, Subscription } from '../../core/models.js';
import { HttpClient } from '../http-client.js';
import type { MailSink } from '../mail-sink.js';
import type { ProtocolHandler } from '../protocol.js';
import { CustomHttpsHandler } from './custom-https.js';
import { EmailHandler } from './email.js';
import { FunctionsHandler, type FunctionLookup } from './functions.js';
import { PagerDutyHandler } from './pagerduty.js';
import { SlackHandler } from './slack.js';
import { SmsHandler } from './sms.js';

/** What the handlers that post over HTTP need; plain data and one function, so a delivery thread can build them too. */
export interface HttpHandlerDeps {
  /** Lets tenant endpoints reach loopback/private networks (link-local and cloud metadata stay refused). */
  allowPrivateEndpoints: boolean;
  /** `whsec_<base64>` Standard Webhooks secret of a subscription (SubscriptionLinks.signingSecret). */
  signingSecret(subscription: Subscription): string;
  sms?: SmsConfig;
  /** Whole-request timeout for HTTP deliveries. */
  httpTimeoutMs: number;
  now?: () => number;
}

export interface ProtocolRegistryDeps extends HttpHandlerDeps {
  mailSink: MailSink;
  mailFrom: string;
  /** ORACLE_FUNCTIONS: finds a subscription's function and runs it; without it the protocol has no handler. */
  functions?: { lookup: FunctionLookup; invoker: FunctionInvoker };
  /**
   * Wraps each HTTP handler, e.g. to make its sends on a delivery thread (SendThreads.wrap); without it
   * they send on the calling thread.
   */
  wrapHttp?: (handler: ProtocolHandler) => ProtocolHandler;
}

/**
 * The handlers that deliver by HTTP POST (webhooks, Slack, PagerDuty, the SMS gateway). They share one
 * HTTP client for tenant endpoints; the SMS gateway URL comes from the operator, not a tenant, so its
 * client may reach a private network.
 */
export function buildHttpHandlers(deps: HttpHandlerDeps): ProtocolHandler[] {
  const now = deps.now ?? Date.now;
  const client = new HttpClient({ allowPrivate: deps.allowPrivateEndpoints, timeoutMs: deps.httpTimeoutMs });
  const trusted = new HttpClient({ allowPrivate: true, timeoutMs: deps.httpTimeoutMs });
  return [
    new CustomHttpsHandler({ client, signingSecret: (sub) => deps.signingSecret(sub), now }),
    new SlackHandler({ client, now }),
    new PagerDutyHandler({ client, now }),
    new SmsHandler({ client: trusted, config: deps.sms, now }),
  ];
}

/** Each protocol's handler, found by protocol name. */
export function registryOf(handlers: readonly ProtocolHandler[]): Map<Protocol, ProtocolHandler> {
  const registry = new Map<Protocol, ProtocolHandler>();
  for (const handler of handlers) for (const protocol of handler.protocols) registry.set(protocol, handler);
  return registry;
}

/**
 * One handler object may serve several protocols (CUSTOM_HTTPS and HTTPS). The handlers
 * share HTTP clients, and closing is idempotent, so a caller can simply close every value
 * of the map at shutdown; that also closes the mail sink.
 */
export function buildProtocolRegistry(deps: ProtocolRegistryDeps): Map<Protocol, ProtocolHandler> {
  const wrap = deps.wrapHttp ?? ((h: ProtocolHandler) => h);
  const handlers: ProtocolHandler[] = [
    ...buildHttpHandlers(deps).map(wrap),
    new EmailHandler({ mailSink: deps.mailSink, mailFrom: deps.mailFrom }),
  ];
  if (deps.functions !== undefined) handlers.push(new FunctionsHandler(deps.functions.lookup, deps.functions.invoker));
  return registryOf(handlers);
}
