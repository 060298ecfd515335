import type { ContextLoader } from './context-loader.js';
import type { Message } from '../core/models.js';
import type { DeliveryStore } from '../core/ports/deliveries.js';
import type { TraceSpan, Tracing } from '../telemetry/tracing.js';

/** Messages fanned out per round; with group-committed publishes a round often covers several publish groups. */
const FANOUT_CLAIM = 256;
/**
 * Most deliveries one step creates (one transaction, run on the event loop): at about 3 µs a row, a step of
 * every claimed message's batch (256 x 200) held publishes and everything else off the loop for tens of ms.
 */
const STEP_ROWS = 1000;

export interface FanoutRoundOptions {
  nodeId: string;
  leaseMs: number;
  /** Subscriptions per fan-out batch of one message. */
  fanoutBatch: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * One round of the batched fan-out of big topics: claims a group of messages whose fan-out is
 * unfinished, then fans them out a few at a time, one transaction per step (one commit for several
 * messages, not one per message; at most STEP_ROWS deliveries, so no step holds the event loop long),
 * big topics taking further steps for their remaining batches, with a yield to the event loop between
 * steps. Returns how much it did (messages claimed plus deliveries created).
 */
export async function fanoutRound(
  store: Pick<DeliveryStore, 'claimFanout' | 'fanoutMany'>,
  loader: Pick<ContextLoader, 'remember'>,
  tracing: Tracing,
  opts: FanoutRoundOptions,
): Promise<number> {
  const now = Date.now();
  const messages = await store.claimFanout(FANOUT_CLAIM, now, now + opts.leaseMs, opts.nodeId);
  if (messages.length === 0) return 0;
  for (const m of messages) loader.remember(m);
  // One span per message, a child of its publish, from this claim until its last batch.
  const spans = new Map<string, TraceSpan>(messages.map((m) => [m.id, fanoutSpan(tracing, m, opts.nodeId)]));
  let created = 0;
  let pending = messages.map((m) => m.id);
  // Oldest first: a message stays at the front until its fan-out is done.
  const perStep = Math.max(1, Math.floor(STEP_ROWS / opts.fanoutBatch));
  try {
    while (pending.length > 0) {
      const step = pending.slice(0, perStep);
      const r = await store.fanoutMany(step, opts.fanoutBatch, Date.now());
      created += r.created;
      const unfinished = new Set(r.unfinished);
      for (const id of step) if (!unfinished.has(id)) spans.get(id)?.end();
      pending = [...r.unfinished, ...pending.slice(perStep)];
      // A big topic takes many batches: let requests in between them.
      if (pending.length > 0) await yieldToEventLoop();
    }
  } catch (err) {
    // The lease brings the rest back; their spans say this round failed.
    for (const id of pending) spans.get(id)?.fail(err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    for (const span of spans.values()) span.end();
  }
  return messages.length + created;
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
