/**
 * SMS through Twilio's Messages REST API (or anything speaking it):
 * `POST <baseUrl>/2010-04-01/Accounts/<AccountSid>/Messages.json`, form-encoded
 * `To`, `From` (or `MessagingServiceSid` for an `MG…` sender) and `Body`, with HTTP Basic
 * auth `AccountSid:AuthToken`. Twilio answers `201 {"sid":"SM…","status":"queued",…}`;
 * errors are JSON `{"code":21211,"message":…,"status":400}`.
 *
 * OCI only delivers SMS for some message sources and drops direct publishes; Herald sends
 * them when SMS is configured, and fails them visibly (not silently) when it is not.
 * OCI confirms +1 numbers by a "CONFIRM <id>" reply; Herald does not receive SMS, so its
 * confirmation text carries the link instead of promising a reply flow.
 */
import type { SmsConfig } from '../../config/config.js';
import type { Protocol } from '../../core/models.js';
import type { HttpClient } from '../http-client.js';
import { EXCERPT_LIMIT } from '../protocol.js';
import type { ProtocolHandler, SendContext, SendResult } from '../protocol.js';
import { bodyFor, permanentFailure, postForResult, truncate, tryJson, withDetail } from './shared.js';

/** Twilio rejects a Body longer than this. */
export const SMS_MAX = 1600;
const E164 = /^\+[1-9]\d{6,14}$/;
/** Twilio's answer lists keys alphabetically, so `sid` sits after the echoed body: read enough to reach it. */
const ANSWER_CHARS = 8192;

export interface SmsDeps {
  /**
   * Operator-configured, so it may be a private gateway: give this client private-endpoint
   * access even when tenants' endpoints are guarded.
   */
  client: HttpClient;
  config: SmsConfig | undefined;
  now?: () => number;
}

/** Title and body, cut to fit one Twilio message; the unsubscribe line only when it fits whole. */
export function smsText(title: string | null, body: string, unsubscribeUrl: string): string {
  const text = title !== null && title !== '' ? `${title}\n${body}` : body;
  const withLink = `${text}\nUnsubscribe: ${unsubscribeUrl}`;
  return withLink.length <= SMS_MAX ? withLink : truncate(text, SMS_MAX);
}

export function smsConfirmationText(topicName: string, confirmationUrl: string): string {
  return truncate(`You have chosen to subscribe to the topic ${topicName}. To confirm the subscription, visit ${confirmationUrl}`, SMS_MAX);
}

export class SmsHandler implements ProtocolHandler {
  readonly protocols: readonly Protocol[] = ['SMS'];
  readonly #now: () => number;

  constructor(private readonly deps: SmsDeps) {
    this.#now = deps.now ?? Date.now;
  }


  async send(ctx: SendContext): Promise<SendResult> {
    const config = this.deps.config;
    if (config === undefined) {
      return permanentFailure('SMS is not configured: set --sms-account-sid, --sms-auth-token and --sms-from (or HERALD_SMS_*).');
    }
    const to = ctx.subscription.endpoint;
    if (!E164.test(to)) return permanentFailure(`SMS endpoint ${to} is not an E.164 number such as +14255550100.`);

    let text: string;
    if (ctx.kind === 'CONFIRMATION') {
      if (ctx.confirmationUrl === null) return permanentFailure('Confirmation send without a confirmation URL.');
      text = smsConfirmationText(ctx.topic.name, ctx.confirmationUrl);
    } else {
      if (ctx.message === null) return permanentFailure('Message send without a message.');
      text = smsText(ctx.message.title, bodyFor(ctx.message, 'SMS'), ctx.unsubscribeUrl);
    }

    const form = new URLSearchParams({ To: to });
    form.set(/^MG[0-9a-f]{32}$/i.test(config.from) ? 'MessagingServiceSid' : 'From', config.from);
    form.set('Body', text);
    const url = `${config.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages.json`;
    const auth = Buffer.from(`${config.accountSid}:${config.authToken}`).toString('base64');

    const result = await postForResult(
      this.deps.client,
      url,
      {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', Authorization: `Basic ${auth}` },
        body: form.toString(),
        signal: ctx.signal,
        excerptChars: ANSWER_CHARS,
      },
      this.#now,
    );
    const answer = tryJson(result.responseExcerpt);
    const excerpt = result.responseExcerpt === undefined ? {} : { responseExcerpt: result.responseExcerpt.slice(0, EXCERPT_LIMIT) };
    if (result.ok) {
      const sid = typeof answer?.sid === 'string' ? answer.sid : /"sid"\s*:\s*"([A-Z]{2}[0-9a-f]{32})"/.exec(result.responseExcerpt ?? '')?.[1];
      const status = typeof answer?.status === 'string' ? ` ${answer.status}` : '';
      return { ...result, ...excerpt, ...(sid === undefined ? {} : { reply: `${sid}${status}` }) };
    }
    const detail = typeof answer?.message === 'string' ? `${typeof answer.code === 'number' ? `Twilio ${answer.code}: ` : ''}${answer.message}` : undefined;
    return withDetail({ ...result, ...excerpt }, detail);
  }

  async close(): Promise<void> {
    await this.deps.client.close();
  }
}
