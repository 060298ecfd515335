/**
 * The delivery engine with its HTTP sends on a delivery thread, as src/server/herald.ts composes it: the thread keeps
 * each endpoint's limit, so the engine hands it an endpoint's admitted deliveries at once.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { SubscriptionLinks } from '../../src/core/links.js';
import { MessageService } from '../../src/core/messages.js';
import type { Principal } from '../../src/core/iam/principal.js';
import { Authorizer } from '../../src/core/iam/authorizer.js';
import { DeliveryEngine } from '../../src/delivery/engine.js';
import { DEFAULT_ENGINE_OPTIONS } from '../../src/delivery/engine-options.js';
import { DevMailbox } from '../../src/delivery/mail-sink.js';
import { NO_METRICS } from '../../src/delivery/metrics.js';
import { buildProtocolRegistry } from '../../src/delivery/protocols/index.js';
import { SendThreads } from '../../src/delivery/send-thread/send-threads.js';
import { eventually } from '../helpers/eventually.js';
import { Receiver } from '../helpers/receiver.js';
import { STORE_KINDS, makeTestStore, type TestStore } from '../helpers/stores.js';
import { seedAdminTenancy, subscriptionFixture, topicFixture } from '../store/fixtures.js';

/** No attempt times out by itself here: only stopping the engine ends them. */
const ATTEMPT_TIMEOUT_MS = 300_000;
const PER_ENDPOINT = 2;

for (const kind of STORE_KINDS) {
  describe(`delivery engine with a delivery thread (${kind})`, () => {
    let t: TestStore;
    let tenancyId: string;
    let admin: Principal;
    let cleanups: (() => Promise<void>)[] = [];

    before(async () => {
      t = await makeTestStore(kind);
      ({ tenancy: { id: tenancyId }, admin } = await seedAdminTenancy(t.store));
    });
    afterEach(async () => {
      for (const c of cleanups.reverse()) await c();
      cleanups = [];
    });
    after(() => t.cleanup());

    it('gives the sends still waiting on the thread back unattempted when it stops, and records the aborted ones', async () => {
      const links = new SubscriptionLinks(randomBytes(32), () => 'http://herald.test');
      const threads = new SendThreads(
        { allowPrivateEndpoints: true, httpTimeoutMs: ATTEMPT_TIMEOUT_MS, sms: undefined, linkSecret: randomBytes(32).toString('base64'), perEndpoint: PER_ENDPOINT },
        { threads: 1 },
      );
      const registry = buildProtocolRegistry({
        wrapHttp: (h) => threads.wrap(h),
        allowPrivateEndpoints: true,
        signingSecret: (sub) => links.signingSecret(sub.id),
        mailSink: new DevMailbox((mail) => t.store.mailbox.insertMail(mail)),
        mailFrom: 'herald@herald.test',
        httpTimeoutMs: ATTEMPT_TIMEOUT_MS,
      });
      const engine = new DeliveryEngine(t.store.deliveries, registry, links, NO_METRICS, pino({ level: 'silent' }), {
        ...DEFAULT_ENGINE_OPTIONS,
        perEndpoint: PER_ENDPOINT,
        nodeId: 'engine-thread-test',
        timeScale: 1,
        attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
        leaseMs: ATTEMPT_TIMEOUT_MS * 2 + 5000,
      });
      const messages = new MessageService(t.store, new Authorizer(t.store.identity), { fanout: engine });
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const stalled = await new Receiver(async () => {
        await released;
        return { status: 200, body: 'late' };
      }).start();
      cleanups.push(async () => {
        release();
        await stalled.stop();
      });
      cleanups.push(async () => {
        await messages.drain();
        await engine.stop(0);
      });
      await engine.start();

      const topic = topicFixture(tenancyId);
      await t.store.topics.insertTopic(topic);
      const sub = subscriptionFixture(topic, { protocol: 'CUSTOM_HTTPS', endpoint: `${stalled.url}/hold`, lifecycleState: 'ACTIVE', activatedAt: 0, confirmationTokenHash: null, confirmationExpiresAt: null });
      await t.store.subscriptions.insertSubscription(sub);
      // The endpoint's cap: PER_ENDPOINT sends on the wire and as many waiting on the thread.
      const ids: string[] = [];
      for (let i = 0; i < 2 * PER_ENDPOINT; i++) ids.push((await messages.publish(admin, topic.id, { body: `m${i}` }, undefined)).messageId);
      await eventually(async () => stalled.requests.length === PER_ENDPOINT, 30_000, 'the first sends on the wire');
      // The others wait on the thread, claimed: every delivery is IN_FLIGHT.
      const trace = async (id: string) => (await t.store.activity.getMessageDeliveries(tenancyId, id))[0]!;
      for (const id of ids) assert.equal((await trace(id)).delivery.state, 'IN_FLIGHT');
      const before = new Map<string, number>();
      for (const id of ids) before.set(id, (await trace(id)).delivery.nextAttemptAt);

      await engine.stop(0);

      // Stopping aborted the sends on the wire (failed attempts, retried later) and gave the waiting ones back as they
      // were: PENDING, never attempted, due again at once (not at their lease's end), and never sent.
      const sent = new Set(stalled.requests.map((r) => String(r.headers['x-oci-ns-messageid'])));
      assert.equal(sent.size, PER_ENDPOINT);
      for (const id of ids) {
        const { delivery, attempts } = await trace(id);
        assert.equal(delivery.state, 'PENDING', `delivery of ${id}`);
        if (sent.has(id)) {
          assert.deepEqual(attempts.map((a) => a.outcome), ['FAILURE']);
          assert.equal(delivery.attempts, 1);
        } else {
          assert.deepEqual(attempts, [], `the unsent delivery of ${id} has an attempt`);
          assert.equal(delivery.attempts, 0);
          assert.ok(delivery.nextAttemptAt < before.get(id)!, `the unsent delivery of ${id} still waits for its lease`);
        }
      }
      assert.equal(stalled.requests.length, PER_ENDPOINT);
    });
  });
}
