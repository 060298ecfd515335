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

export interface ProtocolRegistryDeps {
  /** Lets tenant endpoints reach loopback/private networks (link-local and cloud metadata stay refused). */
  allowPrivateEndpoints: boolean;
  /** `whsec_<base64>` Standard Webhooks secret of a subscription (SubscriptionLinks.signingSecret). */
  signingSecret(subscription: Subscription): string;
  mailSink: MailSink;
  mailFrom: string;
  sms?: SmsConfig;
  /** Whole-request timeout for HTTP deliveries. */
  httpTimeoutMs: number;
  /** ORACLE_FUNCTIONS: finds a subscription's function and runs it; without it the protocol has no handler. */
  functions?: { lookup: FunctionLookup; invoker: FunctionInvoker };
  now?: () => number;
}

/**
 * One handler object may serve several protocols (CUSTOM_HTTPS and HTTPS). The handlers
 * share HTTP clients, and closing is idempotent, so a caller can simply close every value
 * of the map at shutdown; that also closes the mail sink.
 */
export function buildProtocolRegistry(deps: ProtocolRegistryDeps): Map<Protocol, ProtocolHandler> {
  const now = deps.now ?? Date.now;
  const client = new HttpClient({ allowPrivate: deps.allowPrivateEndpoints, timeoutMs: deps.httpTimeoutMs });
  // The SMS gateway URL comes from the operator, not a tenant, so it may live on a private network.
  const trusted = new HttpClient({ allowPrivate: true, timeoutMs: deps.httpTimeoutMs });
  const handlers: ProtocolHandler[] = [
    new CustomHttpsHandler({ client, signingSecret: (sub) => deps.signingSecret(sub), now }),
    new SlackHandler({ client, now }),
    new PagerDutyHandler({ client, now }),
    new SmsHandler({ client: trusted, config: deps.sms, now }),
    new EmailHandler({ mailSink: deps.mailSink, mailFrom: deps.mailFrom }),
  ];
  if (deps.functions !== undefined) handlers.push(new FunctionsHandler(deps.functions.lookup, deps.functions.invoker));
  const registry = new Map<Protocol, ProtocolHandler>();
  for (const handler of handlers) for (const protocol of handler.protocols) registry.set(protocol, handler);
  return registry;
}
