/**
 * (d) One topic with 10,000 CUSTOM_HTTPS subscriptions (BENCH_FANOUT_SUBS), all to
 * the receiver (paths /f0../fN, one origin). Subscriptions are created with bounded
 * concurrency and confirmed by the receiver's GET of the confirmation URL. Then:
 * - fan-out rate: one publish, and deliveries received per second from its send
 *   until the receiver has all N (once per run);
 * - publish ack latency: BENCH_FANOUT_PUBLISHES publishes, one every 250 ms, each
 *   timed send → 2xx, while the earlier messages are still being delivered.
 * Herald runs with HERALD_MAX_BACKLOG raised so 20 × 10k deliveries are accepted, and with publish pacing off
 * (HERALD_DELIVERY_LAG_TARGET=off): a publish every 250 ms asks for 40,000 deliveries/s, several times what
 * delivery keeps up with, so backpressure would refuse it and pacing would hold each publish for its 2 s at most
 * (it does since pacing counts a big topic's fan-out in what a publish costs). (d) measures what a big topic's
 * fan-out costs the acks of publishes let through; (e) and (j) measure backpressure and pacing.
 */
import type { StoreKind } from '../lib/config.js';
import { stopFast, type BenchContext, type ReceiverStats } from '../lib/context.js';
import { CpuMeter } from '../lib/cpu.js';
import { startHerald, type HeraldHandle } from '../lib/herald.js';
import { presign, publishBody } from '../lib/signing.js';
import { nowMs, percentiles, sleep, summarise, type Percentiles, type Summary } from '../lib/stats.js';
import { subscribeMany } from '../lib/subscribe.js';
import { request } from 'undici';

export interface FanoutRun {
  delivered: number;
  seconds: number;
  rate: number;
  reached: boolean;
  ackMs: number;
  cpu: Record<string, number>;
}

export interface FanoutFigures {
  subs: number;
  setupSeconds: number;
  fanoutRate: Summary;
  ack: Percentiles;
  ackP50: Summary;
  ackP99: Summary;
  /** Deliveries/s the receiver got while the acks were timed. */
  deliveriesDuringAcks: Summary;
  statuses: Record<string, number>;
  runs: FanoutRun[];
}

async function publishOnce(herald: HeraldHandle, topicId: string, tag: string, i: number): Promise<{ status: number; ms: number }> {
  const req = presign(herald.url, herald.creds, 'POST', `/20181201/topics/${topicId}/messages`, publishBody(tag, i));
  const t = nowMs();
  const res = await request(herald.url + req.path, { method: 'POST', headers: req.headers, body: req.body });
  await res.body.dump();
  return { status: res.statusCode, ms: nowMs() - t };
}

export async function fanoutScenario(ctx: BenchContext, store: StoreKind): Promise<FanoutFigures> {
  const { cfg } = ctx;
  const subs = cfg.fanoutSubs;
  const herald = await startHerald(cfg, store, { HERALD_MAX_BACKLOG: String(Math.max(2_000_000, subs * (cfg.fanoutPublishes + cfg.runs) * 2)), HERALD_DELIVERY_LAG_TARGET: 'off' });
  try {
    const topicId = await herald.api.createTopic('bench-fanout');
    const s0 = nowMs();
    await subscribeMany(
      herald.api,
      herald.creds.tenancy,
      topicId,
      Array.from({ length: subs }, (_, i) => `${ctx.receiverUrl}/f${i}`),
      32,
      300_000,
    );
    const setupSeconds = (nowMs() - s0) / 1000;
    ctx.log(`  ${store} (d) ${subs} subscriptions created and confirmed in ${setupSeconds.toFixed(1)} s`);
    const runs: FanoutRun[] = [];
    const acks: number[] = [];
    const statuses: Record<string, number> = {};
    for (let r = 0; r < cfg.runs; r++) {
      await sleep(500);
      await ctx.receiver.request<ReceiverStats>('reset');
      const cpu = new CpuMeter({ herald: herald.pid, receiver: ctx.receiverPid }).start();
      const t0 = nowMs();
      const p = await publishOnce(herald, topicId, `fan${r}`, r);
      statuses[String(p.status)] = (statuses[String(p.status)] ?? 0) + 1;
      if (p.status >= 300) throw new Error(`fan-out publish answered ${p.status}`);
      acks.push(p.ms);
      const deadline = Date.now() + 120_000;
      let st = await ctx.receiver.request<ReceiverStats>('stats');
      while (st.delivered < subs && Date.now() < deadline) {
        await sleep(20);
        st = await ctx.receiver.request<ReceiverStats>('stats');
      }
      const usage = cpu.stop();
      const reached = st.delivered >= subs;
      const seconds = ((reached ? st.lastAtMs : st.atMs) - t0) / 1000;
      const run: FanoutRun = { delivered: st.delivered, seconds, rate: st.delivered / seconds, reached, ackMs: p.ms, cpu: usage };
      runs.push(run);
      ctx.log(
        `  ${store} (d) fan-out run ${r + 1}: ${st.delivered} of ${subs} deliveries in ${seconds.toFixed(2)} s = ${Math.round(run.rate)}/s, ` +
          `ack ${p.ms.toFixed(1)} ms, first delivery after ${(st.firstAtMs - t0).toFixed(1)} ms, CPU% ${JSON.stringify(usage)}${reached ? '' : ' — INCOMPLETE'}`,
      );
    }
    // Ack latency with deliveries of the earlier publishes under way, and how many deliveries were made meanwhile:
    // acks are quick when the deliveries are starved, so the two are read together.
    await ctx.receiver.request<ReceiverStats>('reset');
    const a0 = nowMs();
    for (let i = 0; i < cfg.fanoutPublishes; i++) {
      const p = await publishOnce(herald, topicId, 'ack', 1000 + i);
      statuses[String(p.status)] = (statuses[String(p.status)] ?? 0) + 1;
      if (p.status < 300) acks.push(p.ms);
      await sleep(250);
    }
    const during = (await ctx.receiver.request<ReceiverStats>('stats')).delivered / ((nowMs() - a0) / 1000);
    const ack = percentiles(acks);
    ctx.log(
      `  ${store} (d) publish ack over ${acks.length} publishes: p50 ${ack.p50.toFixed(1)} ms, p99 ${ack.p99.toFixed(1)} ms, max ${ack.max.toFixed(1)} ms, ` +
        `statuses ${JSON.stringify(statuses)}; ${Math.round(during)} deliveries/s meanwhile`,
    );
    return {
      subs,
      setupSeconds,
      fanoutRate: summarise(runs.map((x) => x.rate)),
      ack,
      ackP50: summarise([ack.p50]),
      ackP99: summarise([ack.p99]),
      deliveriesDuringAcks: summarise([during]),
      statuses,
      runs,
    };
  } finally {
    await stopFast(ctx, herald);
  }
}
