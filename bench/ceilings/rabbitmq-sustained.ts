/**
 * (j) RabbitMQ doing Herald's sustained fan-out job, in the same run and on the same
 * ladder: a fanout exchange → 10 durable classic queues, persistent 1 KB messages
 * published open loop with publisher confirms (a publisher process), 10 consumers
 * with manual acks (prefetch 256 each, a consumer process). A rate is sustained when
 * every message was confirmed (none nacked) and all rate × seconds × 10 reached the
 * consumers within BENCH_SUSTAINED_GRACE s after the window. After the first failing
 * rate the queues are purged before each bisection window. Does not change what the
 * RabbitMQ ceiling of rabbitmq.ts measures.
 */
import type { BenchConfig } from '../lib/config.js';
import { Child } from '../lib/children.js';
import { achievedRate, climb, describeLadder, type LadderRun, type RateWindow } from '../lib/ladder.js';
import type { Percentiles } from '../lib/stats.js';
import { nowMs, sleep } from '../lib/stats.js';

const QUEUES = 10;
const SCRIPT = new URL('./rabbitmq-sustained-process.ts', import.meta.url);

type Count = { count: number; dupes: number; lastAtMs: number };
type Published = { sent: number; confirmed: number; nacked: number; confirmMs: Percentiles; sendLagMs: Percentiles };

async function rateWindow(cfg: BenchConfig, pub: Child, cons: Child, tag: string, rate: number, seconds: number, measure: boolean): Promise<RateWindow> {
  const n = Math.max(1, Math.round(rate * seconds));
  const expected = n * QUEUES;
  const t0 = nowMs() + 100;
  const endMs = t0 + seconds * 1000;
  const deadlineMs = endMs + cfg.sustainedGraceSeconds * 1000;
  const publishing = pub.request<Published>('publish', { tag, rate, seconds, t0, confirmDeadline: deadlineMs });
  let atEnd: Count = { count: 0, dupes: 0, lastAtMs: Number.NaN };
  let got = atEnd;
  if (measure) {
    await sleep(Math.max(0, endMs - nowMs()));
    atEnd = await cons.request<Count>('count', { tag });
    got = atEnd;
    while (got.count < expected && nowMs() < deadlineMs) {
      await sleep(50);
      got = await cons.request<Count>('count', { tag });
    }
  }
  const p = await publishing;
  await cons.request('forget', { tag });
  const reasons: string[] = [];
  if (p.confirmed < n) reasons.push(`${n - p.confirmed} of ${n} messages not confirmed (${p.nacked} nacked)`);
  if (measure && got.count < expected) reasons.push(`${expected - got.count} of ${expected} deliveries not consumed ${cfg.sustainedGraceSeconds} s after the window`);
  return {
    rate,
    seconds,
    published: n,
    accepted: p.confirmed,
    statuses: { confirmed: p.confirmed, nacked: p.nacked, unconfirmed: n - p.confirmed - p.nacked },
    expected,
    arrivedByWindowEnd: atEnd.count,
    arrived: got.count,
    dupes: 0,
    catchUpSeconds: got.count >= expected ? (got.lastAtMs - endMs) / 1000 : Number.NaN,
    ackP50Ms: p.confirmMs.p50,
    ackP99Ms: p.confirmMs.p99,
    sendLagP99Ms: p.sendLagMs.p99,
    sustained: reasons.length === 0,
    ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
  };
}

export async function measureRabbitSustained(cfg: BenchConfig, log: (s: string) => void): Promise<LadderRun[]> {
  const { child: pub } = await Child.start('rabbitmq sustained publisher', SCRIPT);
  const { child: cons } = await Child.start('rabbitmq sustained consumers', SCRIPT).catch(async (err: unknown) => {
    await pub.stop();
    throw err;
  });
  const runs: LadderRun[] = [];
  try {
    for (let r = 0; r < cfg.runs; r++) {
      const { names } = await pub.request<{ names: string[] }>('setup', { url: cfg.amqpUrl, queues: QUEUES });
      try {
        await cons.request('consume', { url: cfg.amqpUrl, names });
        await rateWindow(cfg, pub, cons, `warm${r}`, cfg.sustainedRates[0]!, Math.max(1, cfg.warmupSeconds), false);
        await sleep(300);
        const run = await climb(
          cfg.sustainedRates,
          cfg.sustainedRefine,
          async (rate) => {
            const w = await rateWindow(cfg, pub, cons, `sus${rate}r${r}`, rate, cfg.sustainedSeconds, true);
            log(
              `  RabbitMQ (j) ${rate}/s × ${QUEUES} queues for ${cfg.sustainedSeconds} s, run ${r + 1}: ${w.sustained ? 'SUSTAINED' : 'not sustained'}; ` +
                `${w.accepted}/${w.published} confirmed, ${w.arrivedByWindowEnd} consumed by the window's end, ${w.arrived}/${w.expected} by +${cfg.sustainedGraceSeconds} s` +
                `${Number.isFinite(w.catchUpSeconds) ? ` (last ${w.catchUpSeconds.toFixed(2)} s after the window)` : ''}, confirm p50/p99 ${w.ackP50Ms.toFixed(1)}/${w.ackP99Ms.toFixed(1)} ms` +
                `${w.reason === undefined ? '' : ` — ${w.reason}`}`,
            );
            await sleep(300);
            return w;
          },
          async () => {
            // The failed window's messages must not be charged to the next one.
            await pub.request('purge');
            await sleep(500);
            await pub.request('purge');
          },
        );
        log(`  RabbitMQ (j) run ${r + 1}: highest sustained ${run.best}/s = ${run.best * QUEUES} deliveries/s (delivered ${Math.round(achievedRate(run))}/s over the window + catch-up); ladder ${describeLadder(run)}`);
        runs.push(run);
      } finally {
        await cons.request('stopConsuming').catch(() => undefined);
        await pub.request('teardown').catch(() => undefined);
      }
    }
  } finally {
    await pub.request('close').catch(() => undefined);
    await cons.request('close').catch(() => undefined);
    await pub.stop();
    await cons.stop();
  }
  return runs;
}
