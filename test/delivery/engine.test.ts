/**
 * The delivery engine on a real store, composed as src/server/herald.ts composes it (protocol registry,
 * publish planner and listener, confirmation sender), posting to real local HTTP receivers.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Delivery, DeliveryAttempt, DeliveryState, DuePosition } from '../../src/core/deliveries.js';
import { SubscriptionLinks } from '../../src/core/links.js';
import { INLINE_FANOUT, MessageService } from '../../src/core/messages.js';
import type { Subscription, Topic } from '../../src/core/models.js';
import { SubscriptionService } from '../../src/core/subscriptions.js';
import { DeliveryEngine } from '../../src/delivery/engine.js';
import { DEFAULT_ENGINE_OPTIONS, type EngineOptions } from '../../src/delivery/engine-options.js';
import { endpointCap } from '../../src/delivery/endpoint-caps.js';
import { DevMailbox } from '../../src/delivery/mail-sink.js';
import { NO_METRICS } from '../../src/delivery/metrics.js';
import { buildProtocolRegistry } from '../../src/delivery/protocols/index.js';
import type { Store } from '../../src/store/store.js';
import type { DeliveryStore, WalkedClaim } from '../../src/core/ports/deliveries.js';
import { eventually } from '../helpers/eventually.js';
import { Receiver, type Received } from '../helpers/receiver.js';
import { STORE_KINDS, makeTestStore } from '../helpers/stores.js';
import type { TestStore } from '../helpers/stores.js';
import { seedAdminTenancy, subscriptionFixture, topicFixture } from '../store/fixtures.js';
import { Authorizer } from '../../src/core/iam/authorizer.js';
import type { Principal } from '../../src/core/iam/principal.js';

/**
 * Long enough that no attempt in these tests ever times out, however busy the machine: a stalled receiver
 * must still be holding its requests when the test looks, and a timeout would turn into a retry.
 */
const ATTEMPT_TIMEOUT_MS = 300_000;
const WAIT_MS = 60_000;

interface Node {
  engine: DeliveryEngine;
  messages: MessageService;
  subscriptions: SubscriptionService;
  /** How often the engine called each store method. */
  calls: Map<string, number>;
  /** How many deliveries of each subscription claims (claimDeliveries, claimDeliveriesWalking) gave the engine. */
  claimed: Map<string, number>;
  /** Where each claimDeliveriesWalking call started (null: from the beginning). */
  walks: (DuePosition | null)[];
}

/** The store, counting the calls made through it and what claims returned. */
function counting(store: DeliveryStore, calls: Map<string, number>, claimed: Map<string, number>, walks: (DuePosition | null)[]): DeliveryStore {
  const count = (ds: readonly Delivery[]): void => {
    for (const d of ds) claimed.set(d.subscriptionId, (claimed.get(d.subscriptionId) ?? 0) + 1);
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return (...args: unknown[]) => {
        calls.set(prop, (calls.get(prop) ?? 0) + 1);
        const out = (v as (...a: unknown[]) => unknown).apply(target, args);
        if (prop === 'claimDeliveries') return (out as Promise<Delivery[]>).then((ds) => (count(ds), ds));
        if (prop !== 'claimDeliveriesWalking') return out;
        walks.push(args[5] as DuePosition | null);
        return (out as Promise<WalkedClaim>).then((w) => (count(w.claimed), w));
      };
    },
  });
}

/** One Herald node's delivery side, wired as startHerald wires it; `wrap` stands between the engine and its store. */
function composeNode(plain: Store, over: Partial<EngineOptions> = {}, wrap: (s: DeliveryStore) => DeliveryStore = (s) => s): Node {
  const calls = new Map<string, number>();
  const claimed = new Map<string, number>();
  const walks: (DuePosition | null)[] = [];
  const store = counting(wrap(plain.deliveries), calls, claimed, walks);
  const links = new SubscriptionLinks(randomBytes(32), () => 'http://herald.test');
  const registry = buildProtocolRegistry({
    allowPrivateEndpoints: true,
    signingSecret: (sub) => links.signingSecret(sub.id),
    mailSink: new DevMailbox((mail) => plain.mailbox.insertMail(mail)),
    mailFrom: 'herald@herald.test',
    httpTimeoutMs: ATTEMPT_TIMEOUT_MS,
  });
  const engine = new DeliveryEngine(store, registry, links, NO_METRICS, pino({ level: 'silent' }), {
    ...DEFAULT_ENGINE_OPTIONS,
    nodeId: 'engine-test',
    timeScale: 1,
    attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
    leaseMs: ATTEMPT_TIMEOUT_MS * 2 + 5000,
    ...over,
  });
  const authz = new Authorizer(plain.identity);
  const messages = new MessageService(plain, authz, { fanout: engine });
  const subscriptions = new SubscriptionService(plain, links, authz, engine);
  return { engine, messages, subscriptions, calls, claimed, walks };
}

type Trace = { delivery: Delivery; attempts: DeliveryAttempt[] };
const FINISHED: ReadonlySet<DeliveryState> = new Set(['DELIVERED', 'DEAD', 'CANCELLED']);

for (const kind of STORE_KINDS) {
  describe(`delivery engine (${kind})`, () => {
    let t: TestStore;
    let tenancyId: string;
    let admin: Principal;
    /** Stopped after each test, in reverse order of creation. */
    let cleanups: (() => Promise<void>)[] = [];

    before(async () => {
      t = await makeTestStore(kind);
      const seeded = await seedAdminTenancy(t.store);
      tenancyId = seeded.tenancy.id;
      admin = seeded.admin;
    });
    afterEach(async () => {
      for (const c of cleanups.reverse()) await c();
      cleanups = [];
    });
    after(() => t.cleanup());

    async function receiver(respond?: ConstructorParameters<typeof Receiver>[0]): Promise<Receiver> {
      const r = await new Receiver(respond).start();
      cleanups.push(() => r.stop());
      return r;
    }

    async function node(over: Partial<EngineOptions> = {}, start = true, wrap?: (s: DeliveryStore) => DeliveryStore): Promise<Node> {
      const n = composeNode(t.store, over, wrap);
      cleanups.push(async () => {
        await n.messages.drain();
        await n.engine.stop();
      });
      if (start) await n.engine.start();
      return n;
    }

    async function newTopic(): Promise<Topic> {
      const topic = topicFixture(tenancyId);
      await t.store.topics.insertTopic(topic);
      return topic;
    }

    /** A confirmed webhook subscription (active since long before any publish of the test). */
    async function webhook(topic: Topic, url: string): Promise<Subscription> {
      const sub = subscriptionFixture(topic, { protocol: 'CUSTOM_HTTPS', endpoint: url, lifecycleState: 'ACTIVE', activatedAt: 0, confirmationTokenHash: null, confirmationExpiresAt: null });
      await t.store.subscriptions.insertSubscription(sub);
      return sub;
    }

    async function publish(n: Node, topic: Topic, body: string): Promise<string> {
      return (await n.messages.publish(admin, topic.id, { body }, undefined)).messageId;
    }

    async function traces(messageId: string): Promise<Trace[]> {
      return t.store.activity.getMessageDeliveries(tenancyId, messageId);
    }

    async function traceOf(messageId: string, sub: Subscription): Promise<Trace> {
      const found = (await traces(messageId)).filter((x) => x.delivery.subscriptionId === sub.id);
      assert.equal(found.length, 1, `one delivery of ${messageId} to ${sub.endpoint}`);
      return found[0]!;
    }

    /** Message ids the receiver got at `path`, in arrival order. */
    function idsAt(r: Receiver, path: string): string[] {
      return r.requests.filter((q: Received) => q.path === path).map((q) => String(q.headers['x-oci-ns-messageid']));
    }

    /** A receiver that holds every request unanswered until `release()` (called at cleanup at the latest). */
    async function stalledReceiver(): Promise<{ stalled: Receiver; release: () => void }> {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const stalled = await receiver(async () => {
        await released;
        return { status: 200, body: 'late ok' };
      });
      cleanups.push(async () => release());
      return { stalled, release };
    }

    /**
     * Publishes `backlog` messages to a topic with a stalled and a healthy webhook, then 3 to another topic with a
     * healthy one: every healthy delivery must arrive while the stalled endpoint holds its requests unanswered.
     */
    async function stalledEndpointScenario(o: { maxInFlight: number; backlog: number }): Promise<void> {
      const perEndpoint = 2;
      // Few slots, so a stalled endpoint could exhaust them if it held any but its own per-endpoint ones.
      const n = await node({ perEndpoint, perProtocol: 4, maxInFlight: o.maxInFlight });
      const { stalled, release } = await stalledReceiver();
      const healthy = await receiver();

      const busy = await newTopic();
      const quiet = await newTopic();
      const stalledSub = await webhook(busy, `${stalled.url}/stalled`);
      const busySub = await webhook(busy, `${healthy.url}/busy`);
      const quietSub = await webhook(quiet, `${healthy.url}/quiet`);

      const busyIds: string[] = [];
      const quietIds: string[] = [];
      for (let i = 0; i < o.backlog; i++) busyIds.push(await publish(n, busy, `busy ${i}`));
      for (let i = 0; i < 3; i++) quietIds.push(await publish(n, quiet, `quiet ${i}`));

      // Every healthy delivery is recorded DELIVERED (and received) while the stalled endpoint holds its slots.
      await eventually(
        async () => {
          for (const [ids, sub] of [[busyIds, busySub], [quietIds, quietSub]] as const) {
            for (const id of ids) if ((await traceOf(id, sub)).delivery.state !== 'DELIVERED') return false;
          }
          return stalled.requests.length >= perEndpoint;
        },
        WAIT_MS,
        'the healthy deliveries while the other endpoint is stalled',
      );
      assert.deepEqual(idsAt(healthy, '/busy').sort(), [...busyIds].sort());
      assert.deepEqual(idsAt(healthy, '/quiet').sort(), [...quietIds].sort());

      // The stalled endpoint still holds its requests: as many as its per-endpoint slots, none answered.
      assert.equal(stalled.requests.length, perEndpoint);
      // Its other deliveries wait unattempted: claimed by the node (running or queued, at most the endpoint's cap), or
      // PENDING in the store (never claimed, or handed back once the endpoint was at its cap) until it has room again.
      const { cap } = endpointCap({ ...DEFAULT_ENGINE_OPTIONS, perEndpoint, maxInFlight: o.maxInFlight });
      const held = async (): Promise<number> => {
        let n = 0;
        for (const id of busyIds) {
          const { delivery, attempts } = await traceOf(id, stalledSub);
          assert.ok(['IN_FLIGHT', 'PENDING'].includes(delivery.state), `delivery of ${id} to the stalled endpoint is ${delivery.state}`);
          assert.equal(attempts.length, 0);
          if (delivery.state === 'IN_FLIGHT') n++;
        }
        return n;
      };
      // (A claim beyond the cap is handed back a moment after it was made.)
      await eventually(async () => (await held()) <= cap, WAIT_MS, `at most ${cap} deliveries to the stalled endpoint claimed`);
      assert.ok((await held()) >= perEndpoint);
      // All that is due now is the stalled endpoint's, which claims leave out: the loop sleeps instead of claiming, or
      // asking when work is due, round after round, and the claims it hands back (after 1 s parked) stay unclaimed.
      // (Upper bounds over a time window: a slow machine only makes fewer.)
      const looks = (): number => ['claimDeliveries', 'claimDeliveriesWalking', 'nextDueAt'].reduce((sum, m) => sum + (n.calls.get(m) ?? 0), 0);
      const before = looks();
      const stalledClaims = n.claimed.get(stalledSub.id) ?? 0;
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(looks() - before <= 8, `${looks() - before} claims and nextDueAt calls in 1.5 s while only excluded work was due`);
      assert.equal(n.claimed.get(stalledSub.id) ?? 0, stalledClaims, 'the stalled endpoint\'s deliveries were claimed again while it was stalled');

      release();
      await eventually(
        async () => {
          for (const id of busyIds) if ((await traceOf(id, stalledSub)).delivery.state !== 'DELIVERED') return false;
          return true;
        },
        WAIT_MS,
        'the stalled endpoint\'s deliveries after it answers',
      );
      // Each sent once, and only once, with a single successful attempt.
      assert.deepEqual(idsAt(stalled, '/stalled').sort(), [...busyIds].sort());
      for (const id of busyIds) {
        const { delivery, attempts } = await traceOf(id, stalledSub);
        assert.equal(delivery.attempts, 1);
        assert.deepEqual(attempts.map((a) => [a.outcome, a.statusCode]), [['SUCCESS', 200]]);
      }
    }

    it('a stalled endpoint does not hold up other subscriptions; its deliveries complete once it answers', async () => {
      await stalledEndpointScenario({ maxInFlight: 64, backlog: 6 });
    });

    // A bug this guards against (this test failed before the fix): deliveries waiting for a stalled endpoint's slots
    // counted against the engine's maxInFlight, and claims take the oldest due first, so once a stalled endpoint's
    // backlog reached maxInFlight (1,024 in production) the node claimed nothing else until those attempts timed out
    // (about 2 x 30 s), and then again when their leases returned them. Now an endpoint holds at most its cap of the
    // node's claims, the rest are handed back, and claims skip its subscriptions until it has room.
    it('a stalled endpoint whose backlog exceeds the in-flight room still does not hold up other subscriptions', async () => {
      await stalledEndpointScenario({ maxInFlight: 8, backlog: 12 });
    });

    it('a publish claims nothing for an endpoint at its cap: those deliveries wait unclaimed, none is handed back', async () => {
      // Cap 4 (2 running, 2 queued), 2 more could park: the publishes after the 4th must not claim (and then hand back).
      const perEndpoint = 2;
      const n = await node({ perEndpoint, claimBatch: 2, maxInFlight: 64 });
      const { stalled, release } = await stalledReceiver();
      const topic = await newTopic();
      const sub = await webhook(topic, `${stalled.url}/full`);
      const { cap } = endpointCap({ ...DEFAULT_ENGINE_OPTIONS, perEndpoint, maxInFlight: 64, claimBatch: 2 });
      const first: string[] = [];
      for (let i = 0; i < cap; i++) first.push(await publish(n, topic, `first ${i}`));
      await eventually(() => stalled.requests.length === perEndpoint, WAIT_MS, 'the endpoint holding its slots');
      const later: string[] = [];
      for (let i = 0; i < 6; i++) later.push(await publish(n, topic, `later ${i}`));
      for (const id of later) {
        const { delivery } = await traceOf(id, sub);
        assert.deepEqual([delivery.state, delivery.leaseOwner], ['PENDING', null], `the delivery of ${id}, published while its endpoint was full`);
      }
      // Nothing was parked, so nothing goes back when a parked claim's time runs out either (1 s).
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(n.calls.get('releaseClaims') ?? 0, 0, 'claims were handed back');

      release();
      await eventually(
        async () => {
          for (const id of [...first, ...later]) if ((await traceOf(id, sub)).delivery.state !== 'DELIVERED') return false;
          return true;
        },
        WAIT_MS,
        'every delivery once the endpoint answers',
      );
      assert.deepEqual(idsAt(stalled, '/full').sort(), [...first, ...later].sort());
    });

    // Before claims left endpoints out by their key, an endpoint at its cap was left out only for the subscriptions
    // the node had seen there: every other subscription on the same host (many Slack or PagerDuty subscriptions share
    // one) was claimed, found the endpoint full, and was handed straight back, claim after claim. This failed then.
    it('an endpoint at its cap is left out of publishes and claims for every subscription on it, not only those seen', async () => {
      const perEndpoint = 2;
      const n = await node({ perEndpoint, claimBatch: 2, maxInFlight: 64 });
      const { stalled, release } = await stalledReceiver();
      const healthy = await receiver();
      const { cap } = endpointCap({ ...DEFAULT_ENGINE_OPTIONS, perEndpoint, maxInFlight: 64, claimBatch: 2 });
      // Fill the endpoint through one subscription.
      const first = await newTopic();
      const firstSub = await webhook(first, `${stalled.url}/first`);
      const firstIds: string[] = [];
      for (let i = 0; i < cap; i++) firstIds.push(await publish(n, first, `first ${i}`));
      await eventually(() => stalled.requests.length === perEndpoint, WAIT_MS, 'the endpoint holding its slots');
      // Then topics whose other subscriptions on that host the node has never seen: one fanned out inline with the
      // publish, one too big for that (fanned out by the engine, then claimed).
      const scenarios: { topic: Topic; others: Subscription[]; ok: Subscription; ids: string[] }[] = [];
      for (const count of [10, INLINE_FANOUT + 6]) {
        const topic = await newTopic();
        const others: Subscription[] = [];
        for (let i = 0; i < count; i++) others.push(await webhook(topic, `${stalled.url}/t${scenarios.length}/s${i}`));
        scenarios.push({ topic, others, ok: await webhook(topic, `${healthy.url}/ok${scenarios.length}`), ids: [] });
      }
      for (const sc of scenarios) for (let i = 0; i < 2; i++) sc.ids.push(await publish(n, sc.topic, `more ${i}`));
      // The healthy subscriptions get theirs meanwhile.
      await eventually(
        async () => {
          for (const sc of scenarios) for (const id of sc.ids) if ((await traceOf(id, sc.ok)).delivery.state !== 'DELIVERED') return false;
          return true;
        },
        WAIT_MS,
        'the healthy subscriptions\' deliveries',
      );
      // Past a parked claim's time (1 s): nothing of the full endpoint was claimed, so nothing was handed back.
      await new Promise((r) => setTimeout(r, 1500));
      for (const sc of scenarios) {
        for (const id of sc.ids) {
          for (const sub of sc.others) {
            const { delivery, attempts } = await traceOf(id, sub);
            assert.deepEqual([delivery.state, delivery.leaseOwner, attempts.length], ['PENDING', null, 0], `the delivery of ${id} to ${sub.endpoint}`);
          }
        }
        assert.equal(sc.others.reduce((sum, sub) => sum + (n.claimed.get(sub.id) ?? 0), 0), 0, 'deliveries to the full endpoint were claimed');
      }
      assert.equal(n.calls.get('releaseClaims') ?? 0, 0, 'claims were handed back');

      release();
      const all = [...firstIds.map((id) => [id, firstSub] as const), ...scenarios.flatMap((sc) => sc.ids.flatMap((id) => sc.others.map((sub) => [id, sub] as const)))];
      await eventually(
        async () => {
          for (const [id, sub] of all) if ((await traceOf(id, sub)).delivery.state !== 'DELIVERED') return false;
          return true;
        },
        WAIT_MS,
        'every delivery once the endpoint answers',
      );
      // Each sent once.
      assert.equal(stalled.requests.length, all.length);
    });

    // Before claims walked a full endpoint's backlog in steps, every claim that left the endpoint out walked all of
    // it from the start, and every publish woke one: with 100,000 waiting, ~90 ms of the main thread each time.
    it('claims that leave a full endpoint out walk its backlog in steps, and a wake goes on from where they stopped', async () => {
      const perEndpoint = 32;
      const claimScan = 4;
      // No restart from the beginning within the test, however slow the machine.
      const n = await node({ perEndpoint, claimBatch: 2, claimScan, walkRestartMs: 600_000 });
      const { stalled, release } = await stalledReceiver();
      const healthy = await receiver();
      const { cap } = endpointCap({ ...DEFAULT_ENGINE_OPTIONS, perEndpoint });
      const full = await newTopic();
      const fullSub = await webhook(full, `${stalled.url}/full`);
      // The endpoint's cap is claimed with the publishes; the rest waits PENDING, left out of every claim.
      const waiting = 6 * claimScan;
      const fullIds: string[] = [];
      for (let i = 0; i < cap + waiting; i++) fullIds.push(await publish(n, full, `full ${i}`));
      await eventually(() => stalled.requests.length === perEndpoint, WAIT_MS, 'the endpoint holding its slots');
      // Too big to fan out inline: its deliveries are created PENDING after the full endpoint's, found by walking past them.
      const big = await newTopic();
      const bigSubs: Subscription[] = [];
      for (let i = 0; i <= INLINE_FANOUT; i++) bigSubs.push(await webhook(big, `${healthy.url}/b${i}`));
      for (const body of ['first', 'second']) {
        const id = await publish(n, big, body);
        await eventually(
          async () => {
            for (const sub of bigSubs) if ((await traceOf(id, sub)).delivery.state !== 'DELIVERED') return false;
            return true;
          },
          WAIT_MS,
          `the ${body} message's deliveries behind the full endpoint's`,
        );
      }
      // One walk from the beginning, in steps of at most claimScan entries; the publishes' wakes went on from there.
      assert.equal(n.walks.filter((w) => w === null).length, 1, `walks from the beginning: ${JSON.stringify(n.walks)}`);
      assert.ok(n.walks.length >= waiting / claimScan, `${n.walks.length} walking claims`);
      assert.equal(n.claimed.get(fullSub.id) ?? 0, 0, 'a claim took a delivery of the full endpoint');

      release();
      await eventually(
        async () => {
          for (const id of fullIds) if ((await traceOf(id, fullSub)).delivery.state !== 'DELIVERED') return false;
          return true;
        },
        WAIT_MS,
        'every delivery once the endpoint answers',
      );
      assert.deepEqual(idsAt(stalled, '/full').sort(), [...fullIds].sort());
    });

    it('a big topic\'s fan-out does not hold back a delivery that falls due meanwhile', async () => {
      // Each fan-out step takes 300 ms: one message to 100 subscriptions, 10 a batch, is 11 steps, over 3 s.
      const slowSteps = (s: DeliveryStore): DeliveryStore =>
        new Proxy(s, {
          get(target, prop, receiver) {
            const v: unknown = Reflect.get(target, prop, receiver);
            if (prop !== 'fanoutMany' || typeof v !== 'function') return v;
            return async (...args: unknown[]) => {
              await new Promise((r) => setTimeout(r, 300));
              return (v as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        });
      const n = await node({ fanoutBatch: 10, timeScale: 0.001 }, true, slowSteps);
      let flakyRequests = 0;
      const r = await receiver((req) => (req.path === '/flaky' && ++flakyRequests === 1 ? { status: 500, body: 'once' } : { status: 200, body: 'ok' }));
      const big = await newTopic();
      for (let i = 0; i < INLINE_FANOUT + 36; i++) await webhook(big, `${r.url}/big`);
      const quiet = await newTopic();
      const flaky = await webhook(quiet, `${r.url}/flaky`);

      const bigId = await publish(n, big, 'to everyone');
      await eventually(async () => (n.calls.get('fanoutMany') ?? 0) >= 1, WAIT_MS, 'the big topic\'s fan-out under way');
      // Its first attempt is made at publish; the retry (due at once) has to be claimed by the engine's loop.
      const quietId = await publish(n, quiet, 'to one');
      await eventually(async () => (await traceOf(quietId, flaky)).delivery.state === 'DELIVERED', WAIT_MS, 'the retried delivery');
      const stepsThen = n.calls.get('fanoutMany') ?? 0;
      assert.ok(stepsThen < 11, `the retry was claimed after ${stepsThen} of the 11 fan-out steps, not after the round`);
      assert.equal((await traceOf(quietId, flaky)).attempts.length, 2);

      await eventually(async () => (await traces(bigId)).filter((x) => x.delivery.state === 'DELIVERED').length === INLINE_FANOUT + 36, WAIT_MS, 'the big topic\'s deliveries');
      assert.equal(n.calls.get('fanoutMany'), 11);
    });

    it('a delivery whose subscription is deleted before it is attempted is CANCELLED and never sent', async () => {
      const n = await node({}, false);
      const r = await receiver();
      const topic = await newTopic();
      const doomed = await webhook(topic, `${r.url}/doomed`);
      const live = await webhook(topic, `${r.url}/live`);

      // Published while the engine is stopped: both deliveries wait, unattempted.
      const first = await publish(n, topic, 'first');
      assert.deepEqual((await traces(first)).map((x) => [x.delivery.state, x.delivery.attempts]), [['PENDING', 0], ['PENDING', 0]]);
      await n.subscriptions.delete(admin, doomed.id);
      await n.engine.start();

      await eventually(
        async () => (await traceOf(first, live)).delivery.state === 'DELIVERED' && FINISHED.has((await traceOf(first, doomed)).delivery.state),
        WAIT_MS,
        'both deliveries of the first message to finish',
      );
      const { delivery, attempts } = await traceOf(first, doomed);
      assert.equal(delivery.state, 'CANCELLED');
      assert.equal(delivery.deliveredAt, null);
      assert.match(delivery.lastError ?? '', /subscription was deleted/);
      assert.equal(attempts.length, 1, 'the cancellation is recorded in the trace');
      assert.equal(attempts[0]!.outcome, 'FAILURE');
      assert.equal(attempts[0]!.statusCode, null, 'no HTTP request was made');
      assert.match(attempts[0]!.error ?? '', /subscription was deleted/);

      // Sentinel: published after the cancellation was recorded, so it is sent after anything the cancelled one could have sent.
      const sentinel = await publish(n, topic, 'sentinel');
      assert.equal((await traces(sentinel)).length, 1, 'a deleted subscription gets no new deliveries');
      await eventually(() => idsAt(r, '/live').includes(sentinel), WAIT_MS, 'the sentinel');
      assert.deepEqual(idsAt(r, '/doomed'), [], 'the cancelled delivery was never sent');
      assert.deepEqual(idsAt(r, '/live'), [first, sentinel]);
    });

    it('a delivery whose subscription is deleted while it is retrying is CANCELLED at its retry and not sent again', async () => {
      const n = await node();
      const topic = await newTopic();
      const r = await receiver();
      const flaky = await webhook(topic, `${r.url}/flaky`);
      const live = await webhook(topic, `${r.url}/live`);
      let deleted = false;
      r.respond = async (req) => {
        if (req.path !== '/flaky') return { status: 200 };
        // The subscriber unsubscribes while the first attempt is failing; the retry (due 2 s later, past the
        // engine's 1 s subscription cache, so the deletion is seen) must not be sent.
        if (!deleted) await n.subscriptions.delete(admin, flaky.id);
        deleted = true;
        return { status: 503, headers: { 'retry-after': '2' }, body: 'down for maintenance' };
      };

      const first = await publish(n, topic, 'first');
      await eventually(
        // (A second request at /flaky ends the wait too: the retry was sent, which the assertions below refuse.)
        async () => (await traceOf(first, live)).delivery.state === 'DELIVERED' && (FINISHED.has((await traceOf(first, flaky)).delivery.state) || idsAt(r, '/flaky').length > 1),
        WAIT_MS,
        'both deliveries of the first message to finish',
      );
      const { delivery, attempts } = await traceOf(first, flaky);
      assert.equal(delivery.state, 'CANCELLED');
      assert.equal(delivery.attempts, 2);
      assert.deepEqual(
        attempts.map((a) => [a.attemptNo, a.outcome, a.statusCode]),
        [
          [1, 'FAILURE', 503],
          [2, 'FAILURE', null],
        ],
      );
      assert.match(attempts[1]!.error ?? '', /subscription was deleted/);
      assert.ok(attempts[1]!.startedAt >= attempts[0]!.startedAt + 2000, 'the retry waited for its Retry-After');

      const sentinel = await publish(n, topic, 'sentinel');
      await eventually(() => idsAt(r, '/live').includes(sentinel), WAIT_MS, 'the sentinel');
      assert.deepEqual(idsAt(r, '/flaky'), [first], 'sent once, never retried');
      assert.deepEqual(idsAt(r, '/live'), [first, sentinel]);
    });
  });
}
