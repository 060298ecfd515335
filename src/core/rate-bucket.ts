/**
 * A subscription's rate-limit bucket: capacity `perSecond` tokens, refilled at `perSecond` a second,
 * so deliveries never burst above N. Every store keeps one per rate-limited subscription for all its
 * nodes (`DeliveryStore.takeRateTokens`); this is its arithmetic, which PostgreSQL's statement mirrors.
 */
export interface RateBucket {
  tokens: number;
  /** When `tokens` was last brought up to date (the latest time any node asked). */
  at: number;
}

/** How many of `want` tokens a bucket grants at `now` (whole tokens only), and the bucket after. A new bucket is full. */
export function takeTokens(bucket: RateBucket | undefined, perSecond: number, want: number, now: number): { bucket: RateBucket; granted: number } {
  // A clock behind the bucket's (another node's) refills nothing and does not move the bucket back.
  const available = bucket === undefined ? perSecond : Math.min(perSecond, bucket.tokens + (Math.max(0, now - bucket.at) * perSecond) / 1000);
  const granted = Math.max(0, Math.min(want, Math.floor(available)));
  return { bucket: { tokens: available - granted, at: Math.max(now, bucket?.at ?? now) }, granted };
}

export interface RateTokenRequest {
  subscriptionId: string;
  perSecond: number;
  want: number;
}

/** How many buckets memory keeps before it drops those that have refilled (a full bucket is what a missing one is). */
const KEPT = 1000;

/** Buckets in memory: SQLite's, whose one node is every node there is. */
export class MemoryRateBuckets {
  private readonly buckets = new Map<string, RateBucket & { perSecond: number }>();

  take(requests: readonly RateTokenRequest[], now: number): number[] {
    if (this.buckets.size > KEPT) this.dropFull(now);
    return requests.map((r) => {
      const { bucket, granted } = takeTokens(this.buckets.get(r.subscriptionId), r.perSecond, r.want, now);
      this.buckets.set(r.subscriptionId, { ...bucket, perSecond: r.perSecond });
      return granted;
    });
  }

  private dropFull(now: number): void {
    for (const [id, b] of this.buckets) {
      if (b.tokens + (Math.max(0, now - b.at) * b.perSecond) / 1000 >= b.perSecond) this.buckets.delete(id);
    }
  }
}
