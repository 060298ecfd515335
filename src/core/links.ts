import { createHmac } from 'node:crypto';
import { memoize } from './memo.js';
import type { Protocol, Subscription } from './models.js';

/**
 * Confirmation and unsubscribe tokens are derived from an installation secret
 * instead of being stored: the database keeps only their hashes, yet any node
 * can rebuild a link when it sends a confirmation or stamps a delivery.
 */
export class SubscriptionLinks {
  // Stamped on every delivery: one HMAC per subscription, not per delivery.
  private readonly unsubscribeTokens = memoize(10_000, (id) => this.mac(`unsubscribe:${id}`));
  // Every attempt stamps its subscription's link: built once per subscription object the engine holds.
  private readonly unsubscribeUrls = new WeakMap<object, { base: string; id: string; protocol: Protocol; url: string }>();
  private readonly signingSecrets = memoize(10_000, (id) => 'whsec_' + createHmac('sha256', this.secret).update(`whsec:${id}`).digest('base64'));

  constructor(
    private readonly secret: Buffer,
    private readonly publicUrl: () => string,
  ) {}

  confirmationToken(subscriptionId: string, nonce: number): string {
    return this.mac(`confirm:${subscriptionId}:${nonce}`);
  }

  unsubscribeToken(subscriptionId: string): string {
    return this.unsubscribeTokens(subscriptionId);
  }

  /** The Standard Webhooks secret a receiver uses to verify this subscription's deliveries. */
  signingSecret(subscriptionId: string): string {
    return this.signingSecrets(subscriptionId);
  }

  confirmationUrl(sub: Pick<Subscription, 'id' | 'protocol' | 'confirmationNonce'>): string {
    return this.link(sub.id, 'confirmation', this.confirmationToken(sub.id, sub.confirmationNonce), sub.protocol);
  }

  unsubscribeUrl(sub: Pick<Subscription, 'id' | 'protocol'>): string {
    const base = this.publicUrl();
    const known = this.unsubscribeUrls.get(sub);
    if (known !== undefined && known.base === base && known.id === sub.id && known.protocol === sub.protocol) return known.url;
    const url = this.link(sub.id, 'unsubscription', this.unsubscribeToken(sub.id), sub.protocol);
    this.unsubscribeUrls.set(sub, { base, id: sub.id, protocol: sub.protocol, url });
    return url;
  }

  private link(id: string, kind: string, token: string, protocol: Protocol): string {
    return `${this.publicUrl()}/20181201/subscriptions/${encodeURIComponent(id)}/${kind}?token=${token}&protocol=${protocol}`;
  }

  private mac(input: string): string {
    return createHmac('sha256', this.secret).update(input).digest('base64url');
  }
}
