import type { Logger } from 'pino';
import { attemptDelivery, NOT_ATTEMPTED, type AttemptDeps } from './attempt.js';
import type { ClaimReturns } from './claim-returns.js';
import type { CompletionWriter } from './completions.js';
import { KeyedLimiter } from './concurrency.js';
import type { ContextLoader } from './context-loader.js';
import type { EngineOptions } from './engine-options.js';
import { LagMeter } from './lag-meter.js';
import type { ProtocolHandler } from './protocol.js';
import type { Delivery } from '../core/deliveries.js';
import type { Protocol } from '../core/models.js';

export type DeliveryContext = Awaited<ReturnType<ContextLoader['load']>>[number];

/** The endpoint key of deliveries without a subscription or handler: they are settled without a request. */
export const NO_ENDPOINT = 'none';

export interface AttemptRunnerDeps {
  registry: ReadonlyMap<Protocol, ProtocolHandler>;
  opts: Pick<EngineOptions, 'perEndpoint' | 'perProtocol' | 'maxInFlight' | 'claimBatch' | 'attemptTimeoutMs'>;
  attemptDeps: AttemptDeps;
  returns: Pick<ClaimReturns, 'release'>;
  completions: Pick<CompletionWriter, 'add'>;
  logger: Logger;
  /** An endpoint's attempt ended: a delivery parked at its cap may start in its place. */
  endpointFreed: (key: string) => void;
  /** A whole claim batch fits again (or nothing runs): the loop may claim. */
  roomFreed: () => void;
}

/**
 * The engine's running attempts: each delivery admitted to its endpoint runs under the endpoint's and the
 * protocol's limits (unless its handler keeps the endpoint's limit itself, as a delivery thread does), and its result
 * goes to the completion batches. Counts what is in flight, the engine's measure of room for claims.
 */
export class AttemptRunner {
  private readonly limiter: KeyedLimiter;
  private readonly protocolLimiter: KeyedLimiter;
  private readonly lag = new LagMeter();
  private running = 0;

  constructor(private readonly deps: AttemptRunnerDeps) {
    this.limiter = new KeyedLimiter(deps.opts.perEndpoint);
    this.protocolLimiter = new KeyedLimiter(deps.opts.perProtocol);
  }

  /** Deliveries running, or held while their contexts load. */
  get inFlight(): number {
    return this.running;
  }

  /** Holds room for deliveries a publish claimed while their contexts load, so a claim step meanwhile sees it taken. */
  hold(count: number): void {
    this.running += count;
  }

  unhold(count: number): void {
    this.running -= count;
  }

  /**
   * The median time from due to sent of the attempts started since the previous call, ms (the publish pacer's
   * signal).
   */
  takeLagMs(): number {
    return this.lag.take();
  }

  /** Runs the attempt under the endpoint's and the protocol's limits, and records its result. */
  start(d: Delivery, ctx: DeliveryContext, key: string, dueAt: number): void {
    this.running++;
    void this.inSlots(d, ctx, key, dueAt);
  }

  /** One async frame per delivery: a closure and a promise per limiter and step cost allocations on every attempt. */
  private async inSlots(d: Delivery, ctx: DeliveryContext, key: string, dueAt: number): Promise<void> {
    try {
      // A handler that keeps each endpoint's limit itself (a delivery thread) is given the endpoint's admitted
      // deliveries (EndpointCaps bounds them) at once, and fills a freed place without this thread's next turn.
      const sub = ctx.subscription;
      if (key !== NO_ENDPOINT && sub !== undefined && this.deps.registry.get(sub.protocol)?.limitsEndpoints === true) {
        await this.now(d, ctx, key, dueAt);
        return;
      }
      // Endpoint slot first: deliveries queued behind a slow endpoint must not hold protocol-wide slots.
      const endpointSlot = this.limiter.acquire(key);
      if (endpointSlot !== true) await endpointSlot;
      try {
        const protocolSlot = this.protocolLimiter.acquire(d.protocol);
        if (protocolSlot !== true) await protocolSlot;
        try {
          await this.now(d, ctx, key, dueAt);
        } finally {
          this.protocolLimiter.release(d.protocol);
        }
      } finally {
        this.limiter.release(key);
      }
    } catch (err) {
      this.deps.logger.error({ err, deliveryId: d.id }, 'delivery attempt crashed; the lease will bring it back');
    } finally {
      this.running--;
      // May start a parked delivery of the endpoint in its place.
      if (key !== NO_ENDPOINT) this.deps.endpointFreed(key);
      // Wake the loop only when a whole claim batch fits again (or all is done), not per attempt.
      const { maxInFlight, claimBatch } = this.deps.opts;
      if (this.running === 0 || maxInFlight - this.running === Math.min(claimBatch, maxInFlight / 2)) this.deps.roomFreed();
    }
  }

  private async now(d: Delivery, ctx: DeliveryContext, key: string, dueAt: number): Promise<void> {
    // A claim that waited in the queues until its lease could run out mid-attempt is left for
    // the lease to return it: attempting now could send it twice (another claim may follow).
    const now = Date.now();
    if (now + this.deps.opts.attemptTimeoutMs > d.nextAttemptAt) return;
    // A rate-limited subscription's deliveries wait for their tokens on purpose: not lag.
    if (ctx.subscription?.rateLimitPerSecond == null) this.lag.sample(now - dueAt);
    const result = await attemptDelivery(d, ctx, this.deps.attemptDeps);
    // Stopped before its request started: back to the queue, due as it was, with no attempt recorded.
    if (result === NOT_ATTEMPTED) this.deps.returns.release([{ claim: { id: d.id, dueAt }, key }]);
    else this.deps.completions.add(result);
  }
}
