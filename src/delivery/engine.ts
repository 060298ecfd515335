import type { Logger } from 'pino';
import { AttemptRunner, NO_ENDPOINT, type DeliveryContext } from './attempt-runner.js';
import { Waker } from './concurrency.js';
import type { DeliveryControlWiring, EngineOptions } from './engine-options.js';
import { EndpointCaps, endpointCap, PARK_MS } from './endpoint-caps.js';
import { AttemptDeadlines } from './deadline.js';
import { ClaimReturns, type KeyedClaim } from './claim-returns.js';
import { CompletionWriter } from './completions.js';
import { ContextLoader } from './context-loader.js';
import type { DeliveryMetrics } from './metrics.js';
import type { ProtocolHandler } from './protocol.js';
import { FanoutRounds } from './fanout-round.js';
import { FilterCache } from './filters.js';
import { DueProbe } from './due-probe.js';
import { DueWalk, stillExcluded, WALK_TAIL_MS } from './due-walk.js';
import { RateGates } from './rate-gate.js';
import type { ClaimExclusions, Delivery, PublishOutcome, PublishPlan } from '../core/deliveries.js';
import { endpointKeys } from '../core/endpoints.js';
import type { SubscriptionLinks } from '../core/links.js';
import type { Message, Protocol, Subscription } from '../core/models.js';
import type { ConfirmationSender } from '../core/subscriptions.js';
import { INLINE_FANOUT, type Fanout } from '../core/messages.js';
import type { ClaimedDelivery, DeliveryStore } from '../core/ports/deliveries.js';
import { NO_TRACING, type Tracing } from '../telemetry/tracing.js';

/** Longest a rate-limited delivery waits in memory for its token (further capped by the lease). */
const RATE_WAIT_MS = 10_000;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Fans published messages out into deliveries and runs them: one loop claims
 * fan-out work and due deliveries in batches under a lease, sends them with
 * bounded concurrency overall and per endpoint, and records every attempt in
 * batched transactions.
 */
export class DeliveryEngine implements ConfirmationSender, Fanout {
  private readonly loader: ContextLoader;
  private readonly fanout: FanoutRounds;
  private readonly caps: EndpointCaps<KeyedClaim>;
  private readonly rates: RateGates<KeyedClaim>;
  private readonly filters = new FilterCache();
  /** Claims handed back or settled without an attempt, written in batches. */
  private readonly returns: ClaimReturns;
  private readonly waker = new Waker();
  private readonly deadlines = new AttemptDeadlines();
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly completions: CompletionWriter;
  private unlisten: (() => Promise<void>) | undefined;
  /**
   * Set when a claim that left out closed endpoints came back short: nothing else was due at
   * `at`. Until new work is signalled (wake), `until` passes, or one of those endpoints
   * reopens, claiming again would only walk their backlog again.
   */
  private nothingElseDue: { at: number; until: number; exclude: ClaimExclusions } | undefined;
  /** Counts wake(): a claim that came back short proves nothing about work signalled while it ran. */
  private wakes = 0;
  /** Where claims that leave endpoints out have walked to. */
  private readonly walk: DueWalk;
  private readonly oldestDue: DueProbe;
  private readonly attempts: AttemptRunner;
  private readonly endpointKeyOf = endpointKeys();

  constructor(
    private readonly store: DeliveryStore,
    private readonly registry: ReadonlyMap<Protocol, ProtocolHandler>,
    private readonly links: SubscriptionLinks,
    private readonly metrics: DeliveryMetrics,
    private readonly logger: Logger,
    private readonly opts: EngineOptions,
    private readonly tracing: Tracing = NO_TRACING,
    control: DeliveryControlWiring = {},
  ) {
    this.loader = new ContextLoader(store);
    this.fanout = new FanoutRounds(store, this.loader, tracing, metrics, opts);
    this.oldestDue = new DueProbe(store, logger);
    this.walk = new DueWalk(opts.walkRestartMs, opts.walkEndTailMs);
    this.returns = new ClaimReturns(store, opts.nodeId, logger, {
      // An endpoint that reopened before they were back found nothing to claim: look again, from the start (they
      // went back to their old due times, behind where a walk may have got to).
      released: (batch) => {
        if (batch.some((r) => !this.caps.isClosed(r.key))) this.lookFromStart();
      },
      // A hold that found its subscription enabled meanwhile put the delivery back: read the subscription afresh.
      settled: (batch) => {
        let back = false;
        for (const c of batch) {
          if (c.state !== 'HELD') continue;
          this.loader.forget(c.subscriptionId);
          back = true;
        }
        if (back) this.walk.restart();
      },
    });
    this.completions = new CompletionWriter(store, logger, (dueAt) => this.wake(dueAt), control.health, (subs) => {
      for (const s of subs) this.loader.forget(s.subscriptionId);
      control.onDisabled?.(subs);
    });
    this.caps = new EndpointCaps({
      ...endpointCap(opts),
      parkMs: PARK_MS,
      onReopen: () => this.waker.wake(),
      handBack: (parked) => this.returns.release(parked.map((p) => p.claim)),
    });
    this.rates = new RateGates({
      // The claim's lease must outlast the wait and then the attempt.
      maxWaitMs: Math.max(0, Math.min(RATE_WAIT_MS, opts.leaseMs - opts.attemptTimeoutMs - 1000)),
      take: (requests, now) => store.takeRateTokens(requests, now),
      handBack: (items) => this.returns.release(items),
      onReopen: () => this.waker.wake(),
      onError: (err) => logger.warn({ err }, 'could not take rate-limit tokens; asking again'),
    });
    this.attempts = new AttemptRunner({
      registry,
      opts,
      // What every attempt is made with: built once, not per delivery.
      attemptDeps: {
        registry,
        links,
        metrics,
        nodeId: opts.nodeId,
        timeScale: opts.timeScale,
        attemptTimeoutMs: opts.attemptTimeoutMs,
        deadlines: this.deadlines,
        tracing,
      },
      returns: this.returns,
      completions: this.completions,
      logger,
      endpointFreed: (key) => this.caps.finished(key),
      roomFreed: () => this.waker.wake(),
    });
  }

  /** A subscription's controls changed on this node (filter policy, rate limit, enabled): apply them from the next delivery. */
  subscriptionChanged(subscriptionId: string): void {
    this.loader.forget(subscriptionId);
    this.lookFromStart();
  }

  async start(): Promise<void> {
    this.running = true;
    this.unlisten = await this.store.onWake(() => this.wake());
    this.loop = this.run();
  }

  /**
   * The median time from due to sent of the attempts this node started since the previous call, ms (the
   * publish pacer's signal, read once per tick).
   */
  deliveryLagMs(): number {
    return this.attempts.takeLagMs();
  }

  /** How long the oldest due delivery in the store has waited, ms, as last read; asking starts the next read. */
  oldestDueMs(): number {
    return this.running ? this.oldestDue.ageMs() : 0;
  }

  /**
   * New work may be due (a publish left some, another node, a retry, a re-drive): look for it now. `dueFrom`: the
   * earliest it is due, when the caller knows (otherwise a claim's walk goes back WALK_TAIL_MS, for other nodes'
   * clocks).
   */
  wake(dueFrom?: number): void {
    this.wakes++;
    this.fanout.maybeDue();
    this.nothingElseDue = undefined;
    this.walk.rewind(dueFrom ?? Date.now() - WALK_TAIL_MS);
    this.waker.wake();
  }

  /** Work may be due behind where claims that leave endpoints out have walked to: the next walk starts over. */
  private lookFromStart(): void {
    this.walk.restart();
    this.wake();
  }

  /**
   * Asked just before a group of publishes commits: fan small topics out inline and claim as many of their deliveries
   * as there is room for, so they go out without a claim transaction. The room is a soft bound (a claim step may run
   * meanwhile). What claims leave out (a full endpoint's deliveries, a subscription's waiting for rate-limit tokens)
   * is not claimed either: beyond what may park at a full endpoint they would go straight back to the store (a write
   * now and a claim later, for nothing). They wait PENDING, not leftover work: the endpoint's reopening claims them.
   */
  planPublish(now: number): PublishPlan {
    const room = this.running ? this.opts.maxInFlight - this.attempts.inFlight : 0;
    return {
      now,
      inlineFanout: INLINE_FANOUT,
      claim: room > 0 ? { owner: this.opts.nodeId, leaseUntil: now + this.opts.leaseMs, max: room, exclude: this.excluded() } : undefined,
    };
  }

  /** Called after a group of publishes commits: cache the messages, send what it claimed for us. */
  published(messages: readonly Message[], outcome: PublishOutcome): void {
    for (const m of messages) this.loader.remember(m);
    if (outcome.claimed.length > 0) {
      const claimed = outcome.claimed;
      // Held as in flight while their contexts load, so a claim step meanwhile sees the room they took.
      this.attempts.hold(claimed.length);
      this.loader.load(claimed, Date.now()).then(
        (contexts) => {
          this.attempts.unhold(claimed.length);
          // Created claimed by the publish, so due at its creation.
          claimed.forEach((d, i) => this.dispatch(d, contexts[i]!, d.createdAt));
        },
        (err: unknown) => {
          this.attempts.unhold(claimed.length);
          this.logger.error({ err, count: claimed.length }, 'could not load what a publish claimed; the lease will bring it back');
        },
      );
    }
    // What the group left (deliveries created PENDING, fan-out to come) is due from when it was planned, after its
    // messages were published.
    if (outcome.leftover) this.wake(Math.min(...messages.map((m) => m.publishedAt)));
  }

  confirmationRequested(sub: Subscription): void {
    const now = Date.now();
    const { tenancyId, topicId, protocol, confirmationNonce } = sub;
    this.store
      .insertDeliveries([{ tenancyId, topicId, subscriptionId: sub.id, messageId: null, kind: 'CONFIRMATION', protocol, nextAttemptAt: now, confirmationNonce, createdAt: now }])
      .then(
        () => this.wake(now),
        (err: unknown) => this.logger.error({ err, subscriptionId: sub.id }, 'could not queue the confirmation; resendConfirmation will retry it'),
      );
  }

  /** Stops claiming, lets in-flight attempts finish (or aborts them after graceMs), and records them. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loop;
    await this.fanout.stop().catch((err: unknown) => this.logger.warn({ err }, 'could not give back the fan-out leases; they run out'));
    // Parked claims are not started any more: they go back to the store now.
    this.caps.handBackAll();
    this.rates.handBackAll();
    const deadline = Date.now() + graceMs;
    while (this.attempts.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.deadlines.abortAll();
    while (this.attempts.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
    this.caps.handBackAll();
    this.rates.handBackAll();
    await this.completions.drain();
    await this.returns.drain();
    await this.unlisten?.();
    for (const h of new Set(this.registry.values())) await h.close();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const worked = (await this.fanout.run()) + (await this.claimStep());
        // SQLite answers synchronously, so without this the loop would run on microtasks
        // alone and keep requests (publishes waiting for their ack) off the event loop.
        if (worked > 0) {
          await yieldToEventLoop();
          continue;
        }
        // All that is due may be of closed endpoints, which claims leave out: sleep until the next
        // other delivery is due (their reopening, or new work, wakes the loop sooner).
        const skip = this.nothingElseDue;
        const due = skip === undefined ? await this.store.nextDueAt() : await this.store.nextDueAt(skip.exclude, skip.at);
        if (skip !== undefined && due !== null) skip.until = Math.min(skip.until, due);
        const wait = due === null ? this.opts.idlePollMs : Math.min(this.opts.idlePollMs, Math.max(5, due - Date.now()));
        // Slept until the next due time or the idle poll (not woken by a freed place): a fan-out lease may have run out
        // meanwhile (nextDueAt's time counts it). A wake() hints at fan-out itself.
        if (await this.waker.sleep(wait)) this.fanout.maybeDue();
      } catch (err) {
        this.logger.error({ err }, 'delivery loop failed; retrying');
        await this.waker.sleep(this.opts.idlePollMs);
      }
    }
  }

  private async claimStep(): Promise<number> {
    const inFlight = this.attempts.inFlight;
    const room = this.opts.maxInFlight - inFlight;
    // Claim in batches: refilling one slot at a time would cost a transaction per delivery.
    if (room <= 0 || (inFlight > 0 && room < Math.min(this.opts.claimBatch, this.opts.maxInFlight / 2))) return 0;
    const now = Date.now();
    const exclude = this.excluded();
    const skip = this.nothingElseDue;
    if (skip !== undefined && now >= skip.until) this.nothingElseDue = undefined;
    // Still true after a claim for a reopened endpoint: only what it left out then can be due now.
    else if (skip !== undefined && stillExcluded(skip.exclude, exclude)) return 0;
    const limit = Math.min(room, this.opts.claimBatch);
    const wakes = this.wakes;
    const leaseUntil = now + this.opts.leaseMs;
    let claimed: ClaimedDelivery[];
    /** The walk has more to look at: the loop goes on without sleeping, even if this step claimed nothing. */
    let walking = false;
    if (exclude.endpoints.length + exclude.subscriptions.length === 0) {
      // The walk is kept: when the endpoint is full again, what it passed is left out again.
      claimed = await this.store.claimDeliveries(limit, now, leaseUntil, this.opts.nodeId);
    } else {
      const from = this.walk.from(now, exclude);
      const step = await this.store.claimDeliveriesWalking(limit, now, leaseUntil, this.opts.nodeId, exclude, from, this.opts.claimScan);
      claimed = step.claimed;
      walking = step.next !== null;
      this.walk.stepped(now, exclude, step.next);
      if (!walking && claimed.length < limit && wakes === this.wakes) {
        this.nothingElseDue = { at: now, until: now + this.opts.idlePollMs, exclude };
      }
    }
    if (claimed.length > 0) {
      const contexts = await this.loader.load(claimed, now);
      claimed.forEach((d, i) => this.dispatch(d, contexts[i]!, d.dueAt));
    }
    return claimed.length + (walking ? 1 : 0);
  }

  /** What claims leave alone: the deliveries of endpoints at their cap, and of subscriptions waiting for rate-limit tokens. */
  private excluded(): ClaimExclusions {
    return { endpoints: this.caps.closedKeys(), subscriptions: this.rates.excluded() };
  }

  /**
   * Queues a claimed delivery for its endpoint; past the endpoint's cap it is parked, or handed
   * back (due at `dueAt` again, the time its claim replaced). A message its subscription's filter
   * policy refuses is settled FILTERED, one for a disabled subscription HELD, without an attempt;
   * a rate-limited subscription's waits for its token first.
   */
  private dispatch(d: Delivery, ctx: DeliveryContext, dueAt: number): void {
    const sub = ctx.subscription;
    const handler = sub === undefined ? undefined : this.registry.get(sub.protocol);
    if (handler === undefined || sub === undefined) {
      this.attempts.start(d, ctx, NO_ENDPOINT, dueAt);
      return;
    }
    if (d.kind === 'MESSAGE' && sub.lifecycleState === 'ACTIVE') {
      if (sub.health.disabledAt !== null) {
        this.returns.settle({ id: d.id, subscriptionId: d.subscriptionId, state: 'HELD' });
        return;
      }
      if (sub.filterPolicy !== null && ctx.message !== null && !this.filters.matches(sub.filterPolicy, ctx.message)) {
        this.metrics.finished(d, 'FILTERED', ctx.message.publishedAt);
        this.returns.settle({ id: d.id, subscriptionId: d.subscriptionId, state: 'FILTERED' });
        return;
      }
    }
    const key = this.endpointKeyOf(sub);
    const claim = { claim: { id: d.id, dueAt }, key };
    const admit = (): void => this.caps.offer(key, { claim, start: () => this.attempts.start(d, ctx, key, dueAt) }, Date.now());
    if (d.kind === 'MESSAGE' && sub.rateLimitPerSecond !== null) this.rates.offer(d.subscriptionId, sub.rateLimitPerSecond, claim, admit);
    else admit();
  }
}
