import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { AttemptResult, Delivery } from '../../src/core/deliveries.js';
import { SubscriptionLinks } from '../../src/core/links.js';
import type { Message } from '../../src/core/models.js';
import { AttemptRunner, type DeliveryContext } from '../../src/delivery/attempt-runner.js';
import type { KeyedClaim } from '../../src/delivery/claim-returns.js';
import { AttemptDeadlines } from '../../src/delivery/deadline.js';
import { NO_METRICS } from '../../src/delivery/metrics.js';
import type { ProtocolHandler, SendContext, SendResult } from '../../src/delivery/protocol.js';
import { NO_TRACING } from '../../src/telemetry/tracing.js';
import { subscription, topic, TOPIC_ID } from './fixtures.js';

const ATTEMPT_TIMEOUT_MS = 5_000;
const KEY = 'CUSTOM_HTTPS http://receiver.test';

/** A handler whose sends wait until the test answers them, so what runs at once can be counted. */
class HeldHandler implements ProtocolHandler {
  readonly protocols = ['CUSTOM_HTTPS'] as const;
  readonly waiting: { ctx: SendContext; answer: (r: SendResult) => void }[] = [];
  running = 0;
  mostAtOnce = 0;

  constructor(readonly limitsEndpoints = false) {}

  send(ctx: SendContext): Promise<SendResult> {
    this.running++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    return new Promise((resolve) =>
      this.waiting.push({
        ctx,
        answer: (r) => {
          this.running--;
          resolve(r);
        },
      }),
    );
  }

  /** Answers the oldest waiting send. */
  answerNext(r: SendResult = { ok: true, statusCode: 200 }): void {
    const next = this.waiting.shift();
    assert.ok(next, 'a send is waiting');
    next.answer(r);
  }

  async close(): Promise<void> {}
}

const message: Message = { id: 'm1', tenancyId: 't', topicId: TOPIC_ID, title: null, body: '{}', messageType: 'RAW_TEXT', publishedAt: 0, traceParent: null };

function delivery(id: number, overrides: Partial<Delivery> = {}): Delivery {
  const now = Date.now();
  return {
    id,
    tenancyId: 't',
    topicId: TOPIC_ID,
    subscriptionId: 'sub',
    messageId: message.id,
    kind: 'MESSAGE',
    protocol: 'CUSTOM_HTTPS',
    state: 'IN_FLIGHT',
    attempts: 0,
    // The claim's lease: long enough for a whole attempt.
    nextAttemptAt: now + 3 * ATTEMPT_TIMEOUT_MS,
    windowStartAt: now,
    leaseOwner: 'node-a',
    confirmationNonce: null,
    lastError: null,
    lastStatus: null,
    deliveredAt: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

const context: DeliveryContext = { message, subscription: subscription('CUSTOM_HTTPS', 'http://receiver.test/hook'), topic: topic() };

/** Lets the runner's promise chains move on. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function runner(handler: HeldHandler, opts: { perEndpoint?: number; maxInFlight?: number; claimBatch?: number } = {}) {
  const recorded: AttemptResult[] = [];
  const released: KeyedClaim[] = [];
  const freed: string[] = [];
  let roomFreed = 0;
  const attempts = new AttemptRunner({
    registry: new Map([['CUSTOM_HTTPS', handler]]),
    opts: { perEndpoint: opts.perEndpoint ?? 64, perProtocol: 1024, maxInFlight: opts.maxInFlight ?? 1024, claimBatch: opts.claimBatch ?? 256, attemptTimeoutMs: ATTEMPT_TIMEOUT_MS },
    attemptDeps: {
      registry: new Map([['CUSTOM_HTTPS', handler]]),
      links: new SubscriptionLinks(randomBytes(32), () => 'http://herald.test'),
      metrics: NO_METRICS,
      nodeId: 'node-a',
      timeScale: 1,
      attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
      deadlines: new AttemptDeadlines(),
      tracing: NO_TRACING,
    },
    returns: { release: (claims) => released.push(...claims) },
    completions: { add: (r) => recorded.push(r) },
    logger: pino({ level: 'silent' }),
    endpointFreed: (key) => freed.push(key),
    roomFreed: () => roomFreed++,
  });
  return { attempts, recorded, released, freed, roomFreed: () => roomFreed };
}

describe('AttemptRunner', () => {
  it('makes no attempt with a claim whose lease cannot cover a whole attempt: the lease brings it back, its room is freed', async () => {
    const handler = new HeldHandler();
    const r = runner(handler);
    r.attempts.start(delivery(1, { nextAttemptAt: Date.now() + ATTEMPT_TIMEOUT_MS / 2 }), context, KEY, Date.now());
    await settle();
    assert.equal(handler.mostAtOnce, 0);
    assert.deepEqual(r.recorded, []);
    assert.deepEqual(r.released, []);
    assert.equal(r.attempts.inFlight, 0);
    assert.deepEqual(r.freed, [KEY]);
    assert.equal(r.roomFreed(), 1);
  });

  it('runs at most the endpoint limit of one endpoint’s attempts at once, starts the next as one ends, and records each', async () => {
    const handler = new HeldHandler();
    const r = runner(handler, { perEndpoint: 2 });
    for (let id = 1; id <= 3; id++) r.attempts.start(delivery(id), context, KEY, Date.now());
    await settle();
    assert.equal(handler.running, 2);
    assert.equal(r.attempts.inFlight, 3, 'the one waiting for its place counts as in flight');
    handler.answerNext();
    await settle();
    assert.equal(handler.running, 2, 'the third started in the place of the first');
    handler.answerNext();
    handler.answerNext();
    await settle();
    assert.equal(handler.mostAtOnce, 2);
    assert.deepEqual(r.recorded.map((x) => [x.deliveryId, x.transition.state]).sort(), [[1, 'DELIVERED'], [2, 'DELIVERED'], [3, 'DELIVERED']]);
    assert.deepEqual(r.freed, [KEY, KEY, KEY]);
    assert.equal(r.attempts.inFlight, 0);
  });

  it('gives a handler that keeps each endpoint’s limit itself every admitted delivery at once', async () => {
    const handler = new HeldHandler(true);
    const r = runner(handler, { perEndpoint: 1 });
    for (let id = 1; id <= 3; id++) r.attempts.start(delivery(id), context, KEY, Date.now());
    await settle();
    assert.equal(handler.running, 3);
    for (let i = 0; i < 3; i++) handler.answerNext();
    await settle();
    assert.equal(r.recorded.length, 3);
  });

  it('hands a send stopped before it left back to the queue, due as it was, with no attempt recorded', async () => {
    const handler = new HeldHandler(true);
    const r = runner(handler);
    const dueAt = Date.now() - 1234;
    r.attempts.start(delivery(7), context, KEY, dueAt);
    await settle();
    handler.answerNext({ ok: false, retryable: true, error: 'stopped', notSent: true });
    await settle();
    assert.deepEqual(r.recorded, []);
    assert.deepEqual(r.released, [{ claim: { id: 7, dueAt }, key: KEY }]);
  });

  it('wakes the claim loop only when a whole claim batch fits again, or when nothing runs', async () => {
    const handler = new HeldHandler();
    const r = runner(handler, { maxInFlight: 8, claimBatch: 4 });
    for (let id = 1; id <= 8; id++) r.attempts.start(delivery(id), context, KEY, Date.now());
    await settle();
    const wakes: number[] = [];
    for (let running = 7; running >= 0; running--) {
      handler.answerNext();
      await settle();
      assert.equal(r.attempts.inFlight, running);
      wakes.push(r.roomFreed());
    }
    // Room for a batch of 4 at 4 running, then again at none.
    assert.deepEqual(wakes, [0, 0, 0, 1, 1, 1, 1, 2]);
  });

  it('counts the room a publish’s claims hold while their contexts load', () => {
    const r = runner(new HeldHandler());
    r.attempts.hold(5);
    assert.equal(r.attempts.inFlight, 5);
    r.attempts.unhold(5);
    assert.equal(r.attempts.inFlight, 0);
  });
});
