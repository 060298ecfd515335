/**
 * (b) Drain of a real backlog to a healthy receiver. Method: 10 subscriptions are
 * confirmed, then the receiver HOLDS every delivery (reads it, sends no answer).
 * Herald's per-endpoint limit then keeps 64 requests open, and its cap on what one
 * endpoint holds leaves everything else published PENDING in the store,
 * unattempted. We publish N messages (N × 10 deliveries), wait until fan-out has
 * created every delivery, then the receiver answers the held requests 200 and from
 * then on answers at once; the figure is N × 10 / (time from release until the
 * receiver has answered all N × 10). No retries are involved, so the retry schedule
 * does not shape the figure. Time caps keep the bench bounded on a slow build: the
 * publish phase stops after BENCH_DRAIN_PUBLISH_MAX s (the backlog is then what was
 * accepted), and a drain still running after BENCH_DRAIN_TIMEOUT s is reported as
 * its partial rate (delivered ÷ elapsed), flagged incomplete.
 */
import type { StoreKind } from '../lib/config.js';
import { heraldWithTopic, stopFast, type BenchContext } from '../lib/context.js';
import { CpuMeter, writeBytes } from '../lib/cpu.js';
import { closedLoop } from '../lib/load.js';
import { presignPublishes } from '../lib/signing.js';
import { nowMs, sleep, summarise, type Summary } from '../lib/stats.js';

const SUBS = 10;

export interface DrainRun {
  messages: number;
  deliveries: number;
  publishSeconds: number;
  fanoutSeconds: number;
  drainSeconds: number;
  rate: number;
  /** Release → the store shows no PENDING or IN_FLIGHT delivery (attempts recorded). */
  recordedSeconds: number;
  reached: boolean;
  delivered: number;
  cpu: Record<string, number>;
  /**
   * SQLite only (a PostgreSQL Herald writes through the database server): KB Herald's process wrote to disk per
   * message from the first publish until every delivery existed, and per delivery from the release until all
   * were recorded (or the drain's cap). NaN on PostgreSQL.
   */
  diskKbPerMessage: number;
  diskKbPerDelivery: number;
  /**
   * CPU time of Herald's process (every thread) from the release until the receiver had every delivery, µs per
   * delivery. PostgreSQL's server does part of the work in processes of its own, not counted here.
   */
  cpuUsPerDelivery: number;
}

export interface DrainFigures {
  rate: Summary;
  diskKbPerMessage: Summary;
  diskKbPerDelivery: Summary;
  cpuUsPerDelivery: Summary;
  /** Runs whose drain did not finish within the time cap (their rate is partial). */
  incompleteRuns: number;
  runs: DrainRun[];
}

export async function drainScenario(ctx: BenchContext, store: StoreKind): Promise<DrainFigures> {
  const { cfg } = ctx;
  const runs: DrainRun[] = [];
  for (let r = 0; r < cfg.runs; r++) {
    // Held requests must not time out while the backlog builds.
    const { herald, topicId } = await heraldWithTopic(ctx, store, SUBS, { HERALD_DELIVERY_TIMEOUT_MS: '300000' });
    try {
      await ctx.receiver.request('hold');
      const written = (): number => (store === 'sqlite' ? writeBytes(herald.pid) : Number.NaN);
      const w0 = written();
      const t0 = nowMs();
      const live = { completed: 0, ok: 0 };
      const pub = await closedLoop({
        origin: herald.url,
        requests: presignPublishes(herald.url, herald.creds, topicId, 8),
        connections: cfg.connections,
        warmupMs: 0,
        durationMs: cfg.drainPublishMaxSeconds * 1000,
        limit: cfg.drainMessages,
        live,
      });
      // Answers that came back after the time cap were accepted all the same.
      const messages = live.ok;
      const deliveries = messages * SUBS;
      if (messages < cfg.drainMessages) ctx.log(`  ${store} (b) only ${messages} of ${cfg.drainMessages} publishes accepted within ${cfg.drainPublishMaxSeconds} s (${JSON.stringify(pub.statuses)}); draining those`);
      const t1 = nowMs();
      // Wait until every delivery exists (fan-out finished): pending + in flight = N × 10.
      const deadline = Date.now() + 120_000;
      for (;;) {
        const b = await herald.api.backlog();
        if (b.fanoutBacklog === 0 && b.queueDepth + b.inFlight >= deliveries) break;
        if (Date.now() > deadline) throw new Error(`drain: fan-out did not finish: ${JSON.stringify(b)}`);
        await sleep(100);
      }
      const t2 = nowMs();
      const w1 = written();
      const cpu = new CpuMeter({ herald: herald.pid, receiver: ctx.receiverPid }).start();
      const rel = await ctx.receiver.request<{ reached: boolean; delivered: number; elapsedMs: number }>('release', { target: deliveries, timeoutMs: cfg.drainTimeoutSeconds * 1000 });
      const usage = cpu.stop();
      const t3 = nowMs();
      let recordedMs = Number.NaN;
      for (let i = 0; rel.reached && i < 100; i++) {
        const b = await herald.api.backlog();
        if (b.queueDepth + b.inFlight === 0) {
          recordedMs = nowMs() - t3 + rel.elapsedMs;
          break;
        }
        await sleep(50);
      }
      const w2 = written();
      const run: DrainRun = {
        messages,
        deliveries,
        publishSeconds: (t1 - t0) / 1000,
        fanoutSeconds: (t2 - t1) / 1000,
        drainSeconds: rel.elapsedMs / 1000,
        rate: rel.delivered / (rel.elapsedMs / 1000),
        recordedSeconds: recordedMs / 1000,
        reached: rel.reached,
        delivered: rel.delivered,
        cpu: usage,
        diskKbPerMessage: (w1 - w0) / 1024 / messages,
        diskKbPerDelivery: (w2 - w1) / 1024 / rel.delivered,
        cpuUsPerDelivery: ((cpu.seconds.herald ?? Number.NaN) * 1e6) / rel.delivered,
      };
      runs.push(run);
      ctx.log(
        `  ${store} (b) drain run ${r + 1}: ${rel.delivered} of ${deliveries} deliveries in ${run.drainSeconds.toFixed(2)} s = ${Math.round(run.rate)} deliveries/s ` +
          `(publish ${run.publishSeconds.toFixed(1)} s, fan-out wait ${run.fanoutSeconds.toFixed(1)} s, ${rel.reached ? `all recorded after ${run.recordedSeconds.toFixed(2)} s` : 'not all recorded'}), CPU% ${JSON.stringify(usage)}, Herald CPU ${Math.round(run.cpuUsPerDelivery)} µs/delivery` +
          (store === 'sqlite' ? `, disk writes ${run.diskKbPerMessage.toFixed(1)} KB/message published, ${run.diskKbPerDelivery.toFixed(2)} KB/delivery drained` : '') +
          (rel.reached ? '' : ` — INCOMPLETE after ${cfg.drainTimeoutSeconds} s: ${rel.delivered} of ${deliveries} delivered; the rate is the partial drain rate`),
      );
    } finally {
      await ctx.receiver.request('release', { target: 0, timeoutMs: 1 }).catch(() => undefined);
      await stopFast(ctx, herald);
    }
  }
  return {
    rate: summarise(runs.map((x) => x.rate)),
    diskKbPerMessage: summarise(runs.map((x) => x.diskKbPerMessage)),
    diskKbPerDelivery: summarise(runs.map((x) => x.diskKbPerDelivery)),
    cpuUsPerDelivery: summarise(runs.map((x) => x.cpuUsPerDelivery)),
    incompleteRuns: runs.filter((x) => !x.reached).length,
    runs,
  };
}
