/**
 * CUSTOM_HTTPS and HTTPS: POST of the raw message body with OCI's X-OCI-NS-* headers
 * (oci-notifications reference §6) plus Standard Webhooks signing headers, so receivers
 * can verify with any standardwebhooks library. OCI's own X-OCI-NS-Signature scheme is
 * undocumented, so Herald signs the Standard Webhooks way instead of faking it.
 */
import { createHmac } from 'node:crypto';
import { memoize } from '../../core/memo.js';
import type { Message, Protocol, Subscription } from '../../core/models.js';
import type { HttpClient } from '../http-client.js';
import type { ProtocolHandler, SendContext, SendResult } from '../protocol.js';
import { bodyFor, confirmationText, ociTimestamp, permanentFailure, postForResult } from './shared.js';

export interface CustomHttpsDeps {
  client: HttpClient;
  /** `whsec_<base64 key>`, as the standardwebhooks libraries take it. */
  signingSecret(subscription: Subscription): string;
  now?: () => number;
}

/** Standard Webhooks forbids `.` in the id (it separates the signed parts); OCIDs are full of them. */
export function confirmationWebhookId(subscription: Subscription): string {
  return `confirm-${subscription.id.replaceAll('.', '_')}-${subscription.confirmationNonce}`;
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed by the base64-decoded secret. */
export function webhookSignature(secret: string, id: string, timestampSec: number, body: string | Uint8Array): string {
  const key = webhookKey(secret);
  const mac = createHmac('sha256', key).update(`${id}.${timestampSec}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

const webhookKey = memoize(10_000, (secret) => Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64'));

export class CustomHttpsHandler implements ProtocolHandler {
  readonly protocols: readonly Protocol[] = ['CUSTOM_HTTPS', 'HTTPS'];
  readonly #now: () => number;

  constructor(private readonly deps: CustomHttpsDeps) {
    this.#now = deps.now ?? Date.now;
  }


  async send(ctx: SendContext): Promise<SendResult> {
    const { subscription: sub, topic } = ctx;
    const now = this.#now();
    // Built once and added to, not spread: this runs for every delivery.
    const headers: Record<string, string> = {
      'X-OCI-NS-TopicOcid': topic.id,
      'X-OCI-NS-TopicName': topic.name,
      'X-OCI-NS-UnsubscribeURL': ctx.unsubscribeUrl,
      'X-OCI-NS-Timestamp': ociTimestamp(now),
    };
    if (ctx.traceParent !== null) headers.traceparent = ctx.traceParent;
    let id: string;
    let body: string | Uint8Array;

    if (ctx.kind === 'CONFIRMATION') {
      if (ctx.confirmationUrl === null) return permanentFailure('Confirmation send without a confirmation URL.');
      id = confirmationWebhookId(sub);
      // Key order follows OCI's example: ConfirmationURL first, receivers grep for it.
      body = JSON.stringify({
        ConfirmationURL: ctx.confirmationUrl,
        SubscriptionId: sub.id,
        TopicId: topic.id,
        TopicName: topic.name,
        Message: confirmationText(topic, ctx.confirmationUrl),
        Type: 'SubscriptionConfirmation',
      });
      headers['Content-Type'] = 'application/json; charset=utf-8';
      headers['X-OCI-NS-MessageId'] = id;
      headers['X-OCI-NS-MessageType'] = 'SubscriptionConfirmation';
      headers['X-OCI-NS-ConfirmationURL'] = ctx.confirmationUrl;
      headers['X-OCI-NS-SubscriptionId'] = sub.id;
      headers['X-OCI-NS-State'] = 'Pending';
    } else {
      if (ctx.message === null) return permanentFailure('Message send without a message.');
      id = ctx.message.id;
      const encoded = encodedBody(ctx.message, bodyFor(ctx.message, sub.protocol));
      body = encoded.bytes;
      headers['Content-Type'] = encoded.contentType;
      headers['X-OCI-NS-MessageId'] = id;
      headers['X-OCI-NS-MessageType'] = 'Notification';
    }

    // webhook-id stays the same across retries (receivers dedupe on it); the timestamp is this attempt's.
    const timestampSec = Math.floor(now / 1000);
    headers['webhook-id'] = id;
    headers['webhook-timestamp'] = String(timestampSec);
    headers['webhook-signature'] = webhookSignature(this.deps.signingSecret(sub), id, timestampSec, body);

    return postForResult(this.deps.client, sub.endpoint, { headers, body, signal: ctx.signal }, this.#now);
  }

  async close(): Promise<void> {
    await this.deps.client.close();
  }
}

interface EncodedBody {
  /** UTF-8, as signed and as sent. */
  bytes: Uint8Array;
  contentType: string;
}

/**
 * A message goes to each of its topic's subscriptions with the same body (the sends of one delivery-thread batch
 * share the message object): its bytes and content type (a JSON.parse of up to 64 KB) are worked out once per
 * message, not once per delivery. A string body was encoded twice a delivery, for the signature and by undici.
 */
const encodedBodies = new WeakMap<Message, EncodedBody>();

function encodedBody(message: Message, body: string): EncodedBody {
  // A messageType JSON message's body for this protocol is not the message's: nothing to share.
  if (body !== message.body) return encode(body);
  let encoded = encodedBodies.get(message);
  if (encoded === undefined) {
    encoded = encode(body);
    encodedBodies.set(message, encoded);
  }
  return encoded;
}

function encode(body: string): EncodedBody {
  return { bytes: Buffer.from(body, 'utf8'), contentType: `${looksLikeJson(body) ? 'application/json' : 'text/plain'}; charset=utf-8` };
}

/** JSON.parse only when the first character could start JSON: most text bodies are rejected for free. */
function looksLikeJson(body: string): boolean {
  const first = body[body.search(/\S/)];
  if (first === undefined || !'{["-0123456789tfn'.includes(first)) return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}
