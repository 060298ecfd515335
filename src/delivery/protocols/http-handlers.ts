/**
 * The handlers that deliver by HTTP POST, on their own: a delivery thread builds these and nothing else (the
 * email and functions handlers would load nodemailer and more into every thread for nothing).
 */
import type { SmsConfig } from '../../config/config.js';
import type { Protocol, Subscription } from '../../core/models.js';
import { HttpClient } from '../http-client.js';
import type { ProtocolHandler } from '../protocol.js';
import { CustomHttpsHandler } from './custom-https.js';
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

