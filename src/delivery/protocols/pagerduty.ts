/**
 * PAGERDUTY: an Events API v2 `trigger` event. OCI subscriptions hold the integration URL
 * `https://events.pagerduty.com/integration/<key>/enqueue`; Herald posts to the Events v2
 * endpoint on the same origin (`/v2/enqueue`) with the key as `routing_key`, so a local
 * test server on another origin works the same way. PagerDuty answers
 * `202 {"status":"success","dedup_key":...}`, `400 {"status":"invalid event","errors":[...]}`
 * (permanent) or 429 (retried).
 */
import type { Protocol } from '../../core/models.js';
import type { HttpClient } from '../http-client.js';
import { traceHeaders, type ProtocolHandler, type SendContext, type SendResult } from '../protocol.js';
import { bodyFor, permanentFailure, postForResult, truncate, tryJson, withDetail } from './shared.js';

/** PagerDuty rejects a summary longer than this. */
const SUMMARY_MAX = 1024;
export const PAGERDUTY_CONFIRMATION_SUMMARY = 'Oracle Notification Service Subscription Confirmation';

export interface PagerDutyDeps {
  client: HttpClient;
  now?: () => number;
}

export interface PagerDutyTarget {
  url: URL;
  routingKey: string;
}

/** `<origin>/integration/<key>/enqueue` → `<origin>/v2/enqueue` + key; else the last path segment is the key. */
export function pagerDutyTarget(endpoint: string): PagerDutyTarget | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return null;
  }
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const at = segments.indexOf('integration');
  const key = at >= 0 && segments[at + 2] === 'enqueue' ? segments[at + 1] : segments.at(-1);
  if (key === undefined || key === '') return null;
  // new URL(path, base) keeps any user-info of the base for the client to turn into Basic auth.
  return { url: new URL('/v2/enqueue', url), routingKey: key };
}

export class PagerDutyHandler implements ProtocolHandler {
  readonly protocols: readonly Protocol[] = ['PAGERDUTY'];
  readonly #now: () => number;

  constructor(private readonly deps: PagerDutyDeps) {
    this.#now = deps.now ?? Date.now;
  }


  async send(ctx: SendContext): Promise<SendResult> {
    const { subscription: sub, topic } = ctx;
    const target = pagerDutyTarget(sub.endpoint);
    if (target === null) return permanentFailure(`PagerDuty endpoint ${sub.endpoint} has no integration key.`);
    const base = { routing_key: target.routingKey, event_action: 'trigger', client: 'Herald Notifications' };
    let event: Record<string, unknown>;

    if (ctx.kind === 'CONFIRMATION') {
      if (ctx.confirmationUrl === null) return permanentFailure('Confirmation send without a confirmation URL.');
      event = {
        ...base,
        dedup_key: `confirm-${sub.id}-${sub.confirmationNonce}`,
        payload: {
          summary: PAGERDUTY_CONFIRMATION_SUMMARY,
          source: `herald:${topic.name}`,
          severity: 'info',
          custom_details: {
            message: `You have chosen to subscribe to the topic ${topic.name}. To confirm the subscription, visit the ConfirmationURL.`,
            ConfirmationURL: ctx.confirmationUrl,
            subscriptionId: sub.id,
            topicId: topic.id,
            topicName: topic.name,
          },
        },
        links: [{ href: ctx.confirmationUrl, text: 'Confirm subscription' }],
      };
    } else {
      const message = ctx.message;
      if (message === null) return permanentFailure('Message send without a message.');
      const body = bodyFor(message, 'PAGERDUTY');
      const summary = message.title ?? (body.trim() !== '' ? body : `Notification from topic ${topic.name}`);
      event = {
        ...base,
        // The message id makes PagerDuty fold a retried delivery into the same alert.
        dedup_key: message.id,
        payload: {
          summary: truncate(summary, SUMMARY_MAX),
          source: `herald:${topic.name}`,
          severity: 'info',
          timestamp: new Date(message.publishedAt).toISOString(),
          custom_details: { body, topicId: topic.id, topicName: topic.name, messageId: message.id, unsubscribeUrl: ctx.unsubscribeUrl },
        },
        links: [{ href: ctx.unsubscribeUrl, text: 'Unsubscribe' }],
      };
    }

    const result = await postForResult(
      this.deps.client,
      target.url,
      { headers: { 'Content-Type': 'application/json', ...traceHeaders(ctx) }, body: JSON.stringify(event), signal: ctx.signal },
      this.#now,
    );
    const answer = tryJson(result.responseExcerpt);
    if (result.ok) {
      const reply = answer ? [answer.status, answer.message, answer.dedup_key && `dedup_key ${String(answer.dedup_key)}`].filter(Boolean).join('; ') : undefined;
      return reply ? { ...result, reply } : result;
    }
    const errors = Array.isArray(answer?.errors) ? ` (${answer.errors.map(String).join('; ')})` : '';
    return withDetail(result, typeof answer?.message === 'string' ? `${answer.message}${errors}` : undefined);
  }

  async close(): Promise<void> {
    await this.deps.client.close();
  }
}
