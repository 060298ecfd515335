/**
 * (k) What filter policies cost: durable publishes/s (closed loop, as (a)) to a topic with 10 ACTIVE
 * CUSTOM_HTTPS subscriptions, each with a 10-key filter policy (5 top-level keys, each with a nested
 * one) that every message passes, against the same topic without policies, alternating in one run.
 * The deliveries are the same in both, so the difference is the evaluation. Target: ≥ 0.95×.
 */
import type { StoreKind } from '../lib/config.js';
import { heraldWithTopic, stopFast, type BenchContext, type ReceiverStats } from '../lib/context.js';
import { CpuMeter } from '../lib/cpu.js';
import { closedLoop } from '../lib/load.js';
import { matchesFilterPolicy, parseFilterPolicy, parseMessageBody } from '../../src/core/filter-policy/index.js';
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
  /** Herald's CPU per publish without policies (µs), from its process's CPU time over the window. */
  cpuPerPublishUs: Summary;
  /** Evaluating the policy for one message on all 10 subscriptions, in this process (µs; the body parsed once). */
  evalPerMessageUs: number;
  plain: Summary;
  filtered: Summary;
  deliveriesPlain: Summary;
  deliveriesFiltered: Summary;
}

/**
 * The evaluation alone, as the engine runs it: one parse of the body per message, then the compiled
 * policy of each of the 10 subscriptions. Immune to the machine's noise in a way the rates are not.
 */
function evalPerMessageUs(): number {
  const policy = parseFilterPolicy(JSON.stringify(TEN_KEY_POLICY));
  const bodies = Array.from({ length: 64 }, (_, i) => (JSON.parse(orderBody(i)) as { body: string }).body);
  const rounds = 20_000;
  let passed = 0;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    const parsed = parseMessageBody(bodies[r % bodies.length]!);
    for (let s = 0; s < 10; s++) if (matchesFilterPolicy(policy, parsed)) passed++;
  }
  const us = Number(process.hrtime.bigint() - t0) / 1000 / rounds;
  if (passed !== rounds * 10) throw new Error(`the bench policy refused ${rounds * 10 - passed} evaluations`);
  return us;
}

async function measure(ctx: BenchContext, herald: HeraldHandle, topicId: string): Promise<{ rate: number; deliveries: number; cpuPerPublishUs: number }> {
  const requests: PreparedRequest[] = Array.from({ length: 8 }, (_, i) => presign(herald.url, herald.creds, 'POST', `/20181201/topics/${topicId}/messages`, orderBody(i)));
  let atStart: Promise<ReceiverStats> | undefined;
  const cpu = new CpuMeter({ herald: herald.pid });
  const res = await closedLoop({
    origin: herald.url,
    requests,
    connections: ctx.cfg.connections,
    warmupMs: ctx.cfg.warmupSeconds * 1000,
    durationMs: ctx.cfg.seconds * 1000,
    onWindowStart: () => {
      cpu.start();
      atStart = ctx.receiver.request<ReceiverStats>('stats');
    },
  });
  const usage = cpu.stop();
  const end = await ctx.receiver.request<ReceiverStats>('stats');
  const start = await atStart!;
  return {
    rate: res.rate,
    deliveries: (end.delivered - start.delivered) / ((end.atMs - start.atMs) / 1000),
    cpuPerPublishUs: (((usage.herald ?? 0) / 100) * 1e6) / res.rate,
  };
}

export async function filterScenario(ctx: BenchContext, store: StoreKind): Promise<FilterFigures> {
  const plain: { rate: number; deliveries: number; cpuPerPublishUs: number }[] = [];
  const filtered: { rate: number; deliveries: number; cpuPerPublishUs: number }[] = [];
  const evalUs = evalPerMessageUs();
  ctx.log(`  (k) evaluating the 10-key policy for 10 subscriptions: ${evalUs.toFixed(2)} µs per message`);
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
        ctx.log(
          `  ${store} (k) ${withPolicy ? '10 × 10-key policies' : 'no policies'} run ${r + 1}: ${Math.round(m.rate)} publishes/s, ` +
            `${Math.round(m.deliveries)} deliveries/s meanwhile, Herald CPU ${Math.round(m.cpuPerPublishUs)} µs per publish`,
        );
      } finally {
        await stopFast(ctx, herald);
      }
    }
  }
  return {
    cpuPerPublishUs: summarise(plain.map((x) => x.cpuPerPublishUs)),
    evalPerMessageUs: evalUs,
    plain: summarise(plain.map((x) => x.rate)),
    filtered: summarise(filtered.map((x) => x.rate)),
    deliveriesPlain: summarise(plain.map((x) => x.deliveries)),
    deliveriesFiltered: summarise(filtered.map((x) => x.deliveries)),
  };
}
