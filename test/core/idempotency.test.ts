/**
 * opc-retry-token rules (src/core/idempotency.ts) against real stores, with an injected clock for the
 * 24-hour memory. OCI: a retry with the same token replays the first answer; the token "expires after 24 hours".
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { withRetryToken } from '../../src/core/idempotency.js';
import { TopicService } from '../../src/core/topics.js';
import { refusal } from '../helpers/refusal.js';
import { STORE_KINDS, makeTestStore } from '../helpers/stores.js';
import type { TestStore } from '../helpers/stores.js';
import type { Authorizer } from '../../src/core/iam/authorizer.js';
import type { Principal } from '../../src/core/iam/principal.js';
import { T0, seedAdminTenancy, seedTenancy } from '../store/fixtures.js';

/** Written out rather than imported, so a wrong constant in src fails here. */
const TOKEN_MEMORY_MS = 24 * 60 * 60 * 1000;
const MAX_TOKEN_LENGTH = 64;

let tokenSeq = 0;
const freshToken = (): string => `token-${++tokenSeq}-${Math.random().toString(36).slice(2)}`;

for (const kind of STORE_KINDS) {
  describe(`opc-retry-token idempotency (${kind})`, () => {
    let t: TestStore;
    let tenancyId: string;
    let admin: Principal;
    let authz: Authorizer;
    let otherTenancyId: string;
    let now = T0;
    const clock = (): number => now;

    before(async () => {
      t = await makeTestStore(kind);
      const seeded = await seedAdminTenancy(t.store, 'acme');
      tenancyId = seeded.tenancy.id;
      admin = seeded.admin;
      authz = seeded.authz;
      otherTenancyId = (await seedTenancy(t.store, 'globex')).tenancy.id;
    });
    after(() => t.cleanup());

    /** A call whose body counts how often it really ran and answers with that count. */
    function counted(): { runs: () => number; call: (token: string | undefined, request: unknown, opts?: { tenancy?: string; operation?: string }) => Promise<{ run: number; request: unknown }> } {
      let runs = 0;
      return {
        runs: () => runs,
        call: (token, request, opts = {}) =>
          withRetryToken(
            t.store.retryTokens,
            { tenancyId: opts.tenancy ?? tenancyId, token, operation: opts.operation ?? 'createThing', request },
            async () => ({ run: ++runs, request }),
            clock,
          ),
      };
    }

    it('a retry with the same token and the same request gets the first answer, without running again', async () => {
      now = T0;
      const c = counted();
      const token = freshToken();
      const first = await c.call(token, { name: 'a', tags: { x: '1' } });
      now = T0 + 60_000;
      const again = await c.call(token, { name: 'a', tags: { x: '1' } });
      assert.deepEqual(again, first);
      assert.equal(c.runs(), 1);
    });

    it('CreateTopic retried with its token returns the same topic and creates only one', async () => {
      now = T0;
      const topics = new TopicService(t.store, authz, clock);
      const token = freshToken();
      const input = { name: `orders-${tokenSeq}`, compartmentId: tenancyId, description: 'x' };
      const first = await topics.create(admin, input, token);
      now = T0 + 1000;
      const retried = await topics.create(admin, { ...input }, token);
      assert.deepEqual(retried, first);
      const listed = await t.store.topics.listTopics({ tenancyId, compartmentId: tenancyId, name: input.name, sortBy: 'TIMECREATED', sortOrder: 'ASC', offset: 0, limit: 10 });
      assert.deepEqual(listed.items.map((x) => x.id), [first.id]);
      // Without the token the same request is a second create (here refused: the name is taken).
      const dup = await refusal(topics.create(admin, input));
      assert.equal(dup.status, 409);
    });

    it('the same token with a different request is refused (409 InvalidatedRetryToken) and does not run', async () => {
      now = T0;
      const c = counted();
      const token = freshToken();
      const first = await c.call(token, { name: 'a' });
      const r = await refusal(c.call(token, { name: 'b' }));
      assert.deepEqual([r.code, r.status], ['InvalidatedRetryToken', 409]);
      // The operation is part of the request: the same body to another operation is a different request.
      const r2 = await refusal(c.call(token, { name: 'a' }, { operation: 'createOtherThing' }));
      assert.deepEqual([r2.code, r2.status], ['InvalidatedRetryToken', 409]);
      assert.equal(c.runs(), 1);
      // The refused calls did not replace what the token remembers.
      assert.deepEqual(await c.call(token, { name: 'a' }), first);
      assert.equal(c.runs(), 1);
    });

    it('a retry while the first request is still running is told to retry later (409 Conflict), then gets the first answer', async () => {
      now = T0;
      const token = freshToken();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      let runs = 0;
      const call = (): Promise<string> =>
        withRetryToken(t.store.retryTokens, { tenancyId, token, operation: 'createThing', request: { name: 'slow' } }, async () => {
          runs++;
          started();
          await gate;
          return `answer-${runs}`;
        }, clock);

      const first = call();
      await running;
      const r = await refusal(call());
      assert.deepEqual([r.code, r.status], ['Conflict', 409]);
      assert.match(r.message, /in progress/);
      assert.equal(runs, 1);
      release();
      assert.equal(await first, 'answer-1');
      assert.equal(await call(), 'answer-1');
      assert.equal(runs, 1);
    });

    it('a first request that failed does not hold the token: the retry runs for real and is remembered', async () => {
      now = T0;
      const token = freshToken();
      let runs = 0;
      const call = (fail: boolean): Promise<number> =>
        withRetryToken(t.store.retryTokens, { tenancyId, token, operation: 'createThing', request: { n: 1 } }, async () => {
          runs++;
          if (fail) throw new Error('the store was down');
          return runs;
        }, clock);
      await assert.rejects(call(true), /the store was down/);
      assert.equal(await call(false), 2);
      assert.equal(await call(false), 2);
      assert.equal(runs, 2);
    });

    it(`takes a token of exactly ${MAX_TOKEN_LENGTH} characters and refuses one of ${MAX_TOKEN_LENGTH + 1} (400 InvalidParameter) without running`, async () => {
      now = T0;
      const c = counted();
      const suffix = `${++tokenSeq}-`;
      const atLimit = suffix + 'x'.repeat(MAX_TOKEN_LENGTH - suffix.length);
      assert.equal(atLimit.length, MAX_TOKEN_LENGTH);
      const first = await c.call(atLimit, { name: 'a' });
      assert.deepEqual(await c.call(atLimit, { name: 'a' }), first, 'a token at the limit is remembered');
      assert.equal(c.runs(), 1);

      const r = await refusal(c.call(`${atLimit}y`, { name: 'a' }));
      assert.deepEqual([r.code, r.status], ['InvalidParameter', 400]);
      assert.match(r.message, /opc-retry-token/);
      assert.equal(c.runs(), 1);
    });

    it('remembers a token for 24 hours: replayed a millisecond before, forgotten at 24 hours', async () => {
      const c = counted();
      const token = freshToken();
      now = T0;
      const first = await c.call(token, { name: 'a' });

      now = T0 + TOKEN_MEMORY_MS - 1;
      assert.deepEqual(await c.call(token, { name: 'a' }), first);
      assert.equal((await refusal(c.call(token, { name: 'b' }))).code, 'InvalidatedRetryToken');
      assert.equal(c.runs(), 1);

      // Expired: the token is free again, even for a different request, which runs and is remembered in turn.
      now = T0 + TOKEN_MEMORY_MS;
      const second = await c.call(token, { name: 'b' });
      assert.deepEqual(second, { run: 2, request: { name: 'b' } });
      now += 1000;
      assert.deepEqual(await c.call(token, { name: 'b' }), second);
      assert.equal((await refusal(c.call(token, { name: 'a' }))).code, 'InvalidatedRetryToken');
      assert.equal(c.runs(), 2);
    });

    it('after 24 hours the same request with the same token runs again', async () => {
      const c = counted();
      const token = freshToken();
      now = T0;
      await c.call(token, { name: 'a' });
      now = T0 + TOKEN_MEMORY_MS + 1;
      assert.deepEqual(await c.call(token, { name: 'a' }), { run: 2, request: { name: 'a' } });
    });

    it('a token belongs to its tenancy; no token (or an empty one) means no idempotency', async () => {
      now = T0;
      const c = counted();
      const token = freshToken();
      await c.call(token, { name: 'a' });
      assert.deepEqual(await c.call(token, { name: 'b' }, { tenancy: otherTenancyId }), { run: 2, request: { name: 'b' } });
      await c.call(undefined, { name: 'a' });
      await c.call(undefined, { name: 'a' });
      await c.call('', { name: 'a' });
      assert.equal(c.runs(), 5);
    });
  });
}
