import type { ContextLoader } from './context-loader.js';
import type { DeliveryMetrics } from './metrics.js';
import type { Message } from '../core/models.js';
import type { DeliveryStore } from '../core/ports/deliveries.js';
import type { TraceSpan, Tracing } from '../telemetry/tracing.js';

/** Messages fanned out per round; with group-committed publishes a round often covers several publish groups. */
const FANOUT_CLAIM = 256;
/**
 * Most deliveries one step creates (one transaction): at about 3 µs a row on a fast host (10-50 on a slow one), a
 * step of every claimed message's batch (256 x 200) held publishes and everything else off the loop for tens of ms.
 */
const STEP_ROWS = 1000;
/**
 * How long the fan-out runs before the engine's loop claims and sends again. A round of 256 messages to a
 * 10,000-subscription topic is 2.56 million rows, minutes of steps; claims waited for all of them, so the first
 * delivery of a big topic (and every other topic's retries) came only after the whole round.
 */
const SLICE_MS = 10;

export interface FanoutRoundOptions {
  nodeId: string;
  leaseMs: number;
  /** Subscriptions per fan-out batch of one message. */
  fanoutBatch: number;
  /** After a claim found nothing, how long until the next one is tried without a hint (maybeDue). */
  idlePollMs: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The batched fan-out of big topics, in rounds: a round claims a group of messages whose fan-out is unfinished, then
 * fans them out a few at a time, one transaction per step (one commit for several messages, not one per message; at
 * most STEP_ROWS deliveries, so no step holds the store's writer long), big topics taking further steps for their
 * remaining batches, oldest message first. Each `run` goes on with the round for about SLICE_MS (at least one step)
 * and returns, so the engine claims and sends between slices; the next `run` claims a new round once this one is
 * done, or once its lease has run out (the messages left are then claimed again, by this node or another). A node that
 * stops gives back what its round had left.
 */
export class FanoutRounds {
  /** The round's messages not fanned out yet, oldest first. */
  private pending: string[] = [];
  private leaseUntil = 0;
  /** One span per message, a child of its publish, from its claim until its last batch. */
  private readonly spans = new Map<string, TraceSpan>();
  /**
   * Until then no round is claimed unless a hint comes (maybeDue): the last claim found nothing. A claim is a write
   * transaction, and the engine's loop turns whenever sends free places (after nearly every publish at 300/s);
   * claiming at every turn cost SQLite's main thread ~2.7 µs a delivery in (b)'s drain and ~80 µs a publish at 300/s,
   * for a big topic's publish that mostly never comes.
   */
  private quietUntil = 0;
  /** Counts hints: a claim that found nothing proves nothing about work hinted at while it ran. */
  private hints = 0;

  constructor(
    private readonly store: Pick<DeliveryStore, 'claimFanout' | 'fanoutMany' | 'releaseFanout'>,
    private readonly loader: Pick<ContextLoader, 'remember'>,
    private readonly tracing: Tracing,
    private readonly metrics: Pick<DeliveryMetrics, 'fannedOut'>,
    private readonly opts: FanoutRoundOptions,
  ) {}

  /** True while a round has messages left: the next `run` goes on with it (every slice counts as work, so the loop does not sleep). */
  get busy(): boolean {
    return this.pending.length > 0;
  }

  /**
   * Fan-out work may be waiting (a publish left some, another node woke this one, the engine's idle poll): the next
   * `run` claims. Without hints a claim is still tried every idlePollMs, for what no hint announces (a lease that ran
   * out on a node that died).
   */
  maybeDue(): void {
    this.hints++;
    this.quietUntil = 0;
  }

  /** One slice of fan-out. Returns how much it did (messages claimed, messages stepped and deliveries created). */
  async run(): Promise<number> {
    let worked = 0;
    if (this.pending.length > 0 && Date.now() >= this.leaseUntil) this.drop('the fan-out lease ran out; claimed again');
    if (this.pending.length === 0) {
      if (Date.now() < this.quietUntil) return 0;
      const hints = this.hints;
      worked += await this.claim();
      if (this.pending.length === 0) {
        if (hints === this.hints) this.quietUntil = Date.now() + this.opts.idlePollMs;
        return worked;
      }
    }
    const started = performance.now();
    // Oldest first: a message stays at the front until its fan-out is done.
    const perStep = Math.max(1, Math.floor(STEP_ROWS / this.opts.fanoutBatch));
    try {
      for (;;) {
        const step = this.pending.slice(0, perStep);
        const r = await this.store.fanoutMany(step, this.opts.fanoutBatch, Date.now());
        worked += step.length + r.created;
        if (r.created > 0) this.metrics.fannedOut(r.created);
        const unfinished = new Set(r.unfinished);
        for (const id of step) if (!unfinished.has(id)) this.end(id);
        this.pending = [...r.unfinished, ...this.pending.slice(perStep)];
        if (this.pending.length === 0 || performance.now() - started >= SLICE_MS) break;
        // A big topic takes many batches: let requests in between them.
        await yieldToEventLoop();
      }
    } catch (err) {
      // The lease brings the rest back; their spans say this round failed.
      this.drop(err instanceof Error ? err.message : String(err));
      throw err;
    }
    return worked;
  }

  /**
   * The engine stops between slices: the round's messages are given back (claimed at once by the next node to look,
   * or by this one when it starts again, not after their lease), their spans end.
   */
  async stop(): Promise<void> {
    const left = this.pending;
    this.drop('the node stopped before this fan-out ended');
    if (left.length > 0) await this.store.releaseFanout(left, this.opts.nodeId);
  }

  private async claim(): Promise<number> {
    const now = Date.now();
    const messages = await this.store.claimFanout(FANOUT_CLAIM, now, now + this.opts.leaseMs, this.opts.nodeId);
    for (const m of messages) {
      this.loader.remember(m);
      this.spans.set(m.id, fanoutSpan(this.tracing, m, this.opts.nodeId));
    }
    this.pending = messages.map((m) => m.id);
    this.leaseUntil = now + this.opts.leaseMs;
    return messages.length;
  }

  private end(id: string): void {
    this.spans.get(id)?.end();
    this.spans.delete(id);
  }

  private drop(reason: string): void {
    for (const id of this.pending) this.spans.get(id)?.fail(reason);
    for (const span of this.spans.values()) span.end();
    this.spans.clear();
    this.pending = [];
  }
}

function fanoutSpan(tracing: Tracing, m: Message, nodeId: string): TraceSpan {
  return tracing.startSpan('fanout', {
    parent: m.traceParent,
    attributes: {
      'messaging.system': 'herald',
      'messaging.operation.name': 'fanout',
      'messaging.destination.name': m.topicId,
      'messaging.message.id': m.id,
      'herald.tenancy.id': m.tenancyId,
      'herald.node': nodeId,
    },
  });
}
