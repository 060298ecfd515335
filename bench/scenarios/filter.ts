/**
 * (k) What filter policies cost: durable publishes/s (closed loop, as (a)) to a topic with 10 ACTIVE
 * CUSTOM_HTTPS subscriptions, each with a 10-key filter policy (5 top-level keys, each with a nested
 * one) that every message passes, against the same topic without policies, alternating in one run.
 * The deliveries are the same in both, so the difference is the evaluation. Target: ≥ 0.95×.
 */
import type { StoreKind } from '../lib/config.js';
import { heraldWithTopic, stopFast, type BenchContext, type ReceiverStats } from '../lib/context.js';
import { closedLoop } from '../lib/load.js';
import { presign, type PreparedRequest } from '../lib/signing.js';
import type { HeraldHandle } from '../lib/herald.js';
import { summarise, type Summary } from '../lib/stats.js';

/** 10 keys: SNS's 5 top-level keys, each naming one nested key; every message below passes it. */
export const TEN_KEY_POLICY = {
  order: { status: ['placed', 'paid'] },
  customer: { tier: [{ prefix: 'go' }] },
  total: { amount: [{ numeric: ['>', 100, '<=', 100_000] }] },
  region: { code: [{ 'anything-but': ['us-east-1', 'ap-south-1'] }] },
  channel: { name: [{ 'equals-ignore-case': 'WEB' }] },
};

/** About 1 KB, like (a)'s publishes. */
function orderBody(i: number): string {
  const message = {
    order: { id: `ord-${i}`, status: 'placed', lines: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }] },
    customer: { id: `c-${i}`, tier: 'gold' },
    total: { amount: 150 + i, currency: 'EUR' },
    region: { code: 'eu-west-1' },
    channel: { name: 'web' },
    pad: 'x'.repeat(620),
  };
  return JSON.stringify({ title: 'order placed', body: JSON.stringify(message) });
}

export interface FilterFigures {
  plain: Summary;
  filtered: Summary;
  deliveriesPlain: Summary;
  deliveriesFiltered: Summary;
}

async function measure(ctx: BenchContext, herald: HeraldHandle, topicId: string): Promise<{ rate: number; deliveries: number }> {
  const requests: PreparedRequest[] = Array.from({ length: 8 }, (_, i) => presign(herald.url, herald.creds, 'POST', `/20181201/topics/${topicId}/messages`, orderBody(i)));
  let atStart: Promise<ReceiverStats> | undefined;
  const res = await closedLoop({
    origin: herald.url,
    requests,
    connections: ctx.cfg.connections,
    warmupMs: ctx.cfg.warmupSeconds * 1000,
    durationMs: ctx.cfg.seconds * 1000,
    onWindowStart: () => {
      atStart = ctx.receiver.request<ReceiverStats>('stats');
    },
  });
  const end = await ctx.receiver.request<ReceiverStats>('stats');
  const start = await atStart!;
  return { rate: res.rate, deliveries: (end.delivered - start.delivered) / ((end.atMs - start.atMs) / 1000) };
}

export async function filterScenario(ctx: BenchContext, store: StoreKind): Promise<FilterFigures> {
  const plain: { rate: number; deliveries: number }[] = [];
  const filtered: { rate: number; deliveries: number }[] = [];
  for (let r = 0; r < ctx.cfg.runs; r++) {
    for (const withPolicy of [false, true]) {
      const { herald, topicId } = await heraldWithTopic(ctx, store, 10);
      try {
        if (withPolicy) {
          const subs = await herald.api.call<{ id: string }[]>('GET', `/20181201/subscriptions?topicId=${topicId}&limit=100`);
          for (const s of subs) await herald.api.call('PUT', `/herald/v1/subscriptions/${s.id}/filterPolicy`, { filterPolicy: TEN_KEY_POLICY });
        }
        const m = await measure(ctx, herald, topicId);
        (withPolicy ? filtered : plain).push(m);
        ctx.log(`  ${store} (k) ${withPolicy ? '10 × 10-key policies' : 'no policies'} run ${r + 1}: ${Math.round(m.rate)} publishes/s, ${Math.round(m.deliveries)} deliveries/s meanwhile`);
      } finally {
        await stopFast(ctx, herald);
      }
    }
  }
  return {
    plain: summarise(plain.map((x) => x.rate)),
    filtered: summarise(filtered.map((x) => x.rate)),
    deliveriesPlain: summarise(plain.map((x) => x.deliveries)),
    deliveriesFiltered: summarise(filtered.map((x) => x.deliveries)),
  };
}
