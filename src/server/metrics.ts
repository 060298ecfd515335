import type { Delivery, FinalState } from '../core/deliveries.js';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { PacerState } from '../core/publish-pacer.js';
import type { RetentionStats } from '../core/retention.js';
import type { DeliveryMetrics } from '../delivery/metrics.js';
import { LabelHistogram, PairCounter } from './delivery-counts.js';
import { registerStorageMetrics } from './storage-metrics.js';
import type { Store } from '../store/store.js';

/** Prometheus metrics; queue gauges are read from the store at scrape time, so every node reports the shared queue. */
export class HeraldMetrics implements DeliveryMetrics {
  readonly registry = new Registry();
  private readonly published: Counter;
  // Counted for every delivery: plain counts read out at scrape time (delivery-counts.ts), not prom-client's own.
  private readonly attempts: PairCounter;
  private readonly finishedTotal: PairCounter;
  private readonly latency: LabelHistogram;
  private readonly disabled: Counter;
  private readonly fanout: Counter;

  constructor(store: Store, sources: { publishBacklog: () => number; retention: () => RetentionStats; pacing?: () => PacerState }) {
    const { publishBacklog } = sources;
    // process_* and nodejs_* (memory, heap, event-loop lag, GC): what an operator reads first.
    collectDefaultMetrics({ register: this.registry });
    this.published = new Counter({ name: 'herald_messages_published_total', help: 'Messages accepted by PublishMessage on this node.', registers: [this.registry] });
    this.attempts = new PairCounter('herald_delivery_attempts_total', 'Delivery attempts made by this node, by protocol and outcome.', ['protocol', 'outcome'], this.registry);
    this.finishedTotal = new PairCounter(
      'herald_deliveries_finished_total',
      'Deliveries that reached a final state on this node: DELIVERED, DEAD (dead letter), CANCELLED or FILTERED (by the subscription\'s filter policy).',
      ['protocol', 'state'],
      this.registry,
    );
    this.latency = new LabelHistogram(
      'herald_delivery_attempt_duration_seconds',
      'Duration of delivery attempts, by protocol.',
      'protocol',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      this.registry,
    );
    this.fanout = new Counter({
      name: 'herald_fanout_deliveries_total',
      help: 'Deliveries this node created fanning out messages of topics too big to fan out at their publish.',
      registers: [this.registry],
    });
    this.disabled = new Counter({
      name: 'herald_subscriptions_disabled_total',
      help: 'Subscriptions this node disabled after no successful delivery within --endpoint-disable-after.',
      registers: [this.registry],
    });
    const counts = new Map<string, number>();
    let readAt = 0;
    const refresh = async (): Promise<void> => {
      // One store read serves all the queue gauges of one scrape.
      if (Date.now() - readAt < 500) return;
      const c = await store.deliveries.countDeliveries();
      readAt = Date.now();
      counts.set('pending', c.pending).set('inFlight', c.inFlight).set('dead', c.dead).set('delivered', c.delivered).set('fanout', c.fanoutBacklog).set('held', c.held);
    };
    const gauge = (name: string, help: string, key: string): void => {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          await refresh();
          this.set(counts.get(key) ?? 0);
        },
      });
    };
    new Gauge({
      name: 'herald_publish_backlog',
      help: 'The undelivered backlog as publish backpressure reads it (publishes answer 429 above --max-backlog).',
      registers: [this.registry],
      collect() {
        this.set(publishBacklog());
      },
    });
    const pacing = sources.pacing ?? (() => undefined);
    new Gauge({
      name: 'herald_publish_paced',
      help: 'Whether this node is pacing publishes so that deliveries keep up (1) or not (0); see --delivery-lag-target.',
      registers: [this.registry],
      collect() {
        this.set(pacing()?.paced === true ? 1 : 0);
      },
    });
    new Gauge({
      name: 'herald_publishes_paced_total',
      help: 'Publishes this node made wait for their turn while pacing (a counter, read from the pacer).',
      registers: [this.registry],
      collect() {
        this.set(pacing()?.delayed ?? 0);
      },
    });
    gauge('herald_queue_depth', 'Deliveries waiting for an attempt (PENDING).', 'pending');
    gauge('herald_deliveries_in_flight', 'Deliveries leased by a node and being attempted.', 'inFlight');
    gauge('herald_dead_letters', 'Deliveries whose retry window closed (kept and re-drivable).', 'dead');
    gauge('herald_deliveries_delivered', 'Deliveries delivered (all time, pruned ones included).', 'delivered');
    gauge('herald_fanout_backlog', 'Published messages whose fan-out has not finished.', 'fanout');
    gauge('herald_deliveries_held', 'Deliveries of disabled subscriptions, held until they are enabled.', 'held');
    registerStorageMetrics(this.registry, store, sources.retention);
  }

  subscriptionsDisabled(n: number): void {
    this.disabled.inc(n);
  }

  messagesPublished(n: number): void {
    this.published.inc(n);
  }

  attempt(d: Delivery, outcome: 'success' | 'failure', durationMs: number): void {
    this.attempts.inc(d.protocol, outcome);
    this.latency.observe(d.protocol, durationMs / 1000);
  }

  finished(d: Delivery, state: FinalState): void {
    this.finishedTotal.inc(d.protocol, state);
  }

  fannedOut(deliveries: number): void {
    this.fanout.inc(deliveries);
  }
}
