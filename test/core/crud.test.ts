/**
 * The shared etag-guarded writes (src/core/crud.ts) over real stores: topics stand in for any
 * resource, a compartment with something in it for a guarded delete. Races are made by a second
 * writer that gets in between the helper's read and its compare-and-swap.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { CAS_RETRIES, casUpdate, guardedDelete, moveToCompartment } from '../../src/core/crud.js';
import { IncorrectStateError, NotFoundError } from '../../src/core/errors.js';
import { Authorizer } from '../../src/core/iam/authorizer.js';
import type { Principal } from '../../src/core/iam/principal.js';
import { newEtag, newOcid } from '../../src/core/ids.js';
import type { Topic } from '../../src/core/models.js';
import type { CasResult } from '../../src/core/cas.js';
import { refusal } from '../helpers/refusal.js';
import { STORE_KINDS, makeTestStore, type TestStore } from '../helpers/stores.js';
import { compartmentFixture, seedAdminTenancy, T0, topicFixture } from '../store/fixtures.js';

for (const kind of STORE_KINDS) {
  describe(`etag-guarded writes (${kind})`, () => {
    let t: TestStore;
    let tenancyId: string;
    let admin: Principal;

    before(async () => {
      t = await makeTestStore(kind);
      const seeded = await seedAdminTenancy(t.store);
      tenancyId = seeded.tenancy.id;
      admin = seeded.admin;
    });
    after(() => t.cleanup());

    async function newTopic(over: Partial<Topic> = {}): Promise<Topic> {
      const topic = topicFixture(tenancyId, over);
      await t.store.topics.insertTopic(topic);
      return topic;
    }

    async function stored(id: string): Promise<Topic | undefined> {
      return t.store.topics.getTopic(tenancyId, id);
    }

    async function load(id: string): Promise<Topic> {
      const topic = await stored(id);
      if (topic === undefined) throw new NotFoundError('Topic', id);
      return topic;
    }

    /** Another node's write: a new description and etag, under the current etag. */
    async function otherWriter(id: string, description: string): Promise<void> {
      const cur = await load(id);
      const r = await t.store.topics.replaceTopic({ ...cur, description, etag: newEtag() }, cur.etag);
      assert.ok(r.ok);
    }

    /** Counts the helper's reads and writes; `before` runs ahead of each write (to lose it a race). */
    function counted(id: string, beforeWrite: (n: number) => Promise<void> = async () => {}) {
      const calls = { loads: 0, writes: 0 };
      return {
        calls,
        load: async () => {
          calls.loads++;
          return load(id);
        },
        replace: async (next: Topic, etag: string): Promise<CasResult<Topic>> => {
          calls.writes++;
          await beforeWrite(calls.writes);
          return t.store.topics.replaceTopic(next, etag);
        },
      };
    }

    describe('casUpdate', () => {
      it('writes the change under a new etag and returns the stored row', async () => {
        const topic = await newTopic();
        const io = counted(topic.id);
        const out = await casUpdate({ what: 'Topic', id: topic.id, ifMatch: undefined, ...io, change: (cur) => ({ ...cur, description: 'new' }) });
        assert.equal(out.description, 'new');
        assert.notEqual(out.etag, topic.etag);
        assert.deepEqual(await stored(topic.id), out);
        assert.deepEqual(io.calls, { loads: 1, writes: 1 });
      });

      it('writes when if-match is the current etag', async () => {
        const topic = await newTopic();
        const out = await casUpdate({ what: 'Topic', id: topic.id, ifMatch: topic.etag, ...counted(topic.id), change: (cur) => ({ ...cur, description: 'matched' }) });
        assert.equal((await stored(topic.id))?.description, 'matched');
        assert.equal((await stored(topic.id))?.etag, out.etag);
      });

      it('refuses a stale if-match with NoEtagMatch (412) before writing anything', async () => {
        const topic = await newTopic();
        const io = counted(topic.id);
        const r = await refusal(casUpdate({ what: 'Topic', id: topic.id, ifMatch: 'stale', ...io, change: (cur) => ({ ...cur, description: 'lost' }) }));
        assert.deepEqual(r, { code: 'NoEtagMatch', status: 412, message: `The if-match etag does not match the current etag of ${topic.id}.` });
        assert.equal(io.calls.writes, 0);
        assert.deepEqual(await stored(topic.id), topic);
      });

      it('retries a race lost without if-match, applying the change to the other writer\'s row', async () => {
        const topic = await newTopic();
        const io = counted(topic.id, async (n) => {
          if (n === 1) await otherWriter(topic.id, 'theirs');
        });
        const out = await casUpdate({ what: 'Topic', id: topic.id, ifMatch: undefined, ...io, change: (cur) => ({ ...cur, freeformTags: { by: 'us' } }) });
        assert.deepEqual(io.calls, { loads: 2, writes: 2 });
        // Last writer wins, but on a fresh read: the other writer's description is kept.
        assert.equal(out.description, 'theirs');
        assert.deepEqual(out.freeformTags, { by: 'us' });
        assert.deepEqual(await stored(topic.id), out);
      });

      it('answers NoEtagMatch to a race lost with if-match, without retrying', async () => {
        const topic = await newTopic();
        const io = counted(topic.id, () => otherWriter(topic.id, 'theirs'));
        const r = await refusal(casUpdate({ what: 'Topic', id: topic.id, ifMatch: topic.etag, ...io, change: (cur) => ({ ...cur, description: 'ours' }) }));
        assert.equal(r.code, 'NoEtagMatch');
        assert.equal(r.status, 412);
        assert.deepEqual(io.calls, { loads: 1, writes: 1 });
        assert.equal((await stored(topic.id))?.description, 'theirs');
      });

      it(`gives up with NoEtagMatch after ${CAS_RETRIES} retries of a race it keeps losing`, async () => {
        const topic = await newTopic();
        const io = counted(topic.id, (n) => otherWriter(topic.id, `theirs-${n}`));
        const r = await refusal(casUpdate({ what: 'Topic', id: topic.id, ifMatch: undefined, ...io, change: (cur) => ({ ...cur, description: 'ours' }) }));
        assert.equal(r.code, 'NoEtagMatch');
        assert.equal(CAS_RETRIES, 5);
        assert.deepEqual(io.calls, { loads: 6, writes: 6 });
        assert.equal((await stored(topic.id))?.description, 'theirs-6');
      });

      it('answers the resource\'s NotFound when the row is deleted between read and write, without retrying', async () => {
        const topic = await newTopic();
        const io = counted(topic.id, async () => {
          const cur = await load(topic.id);
          assert.ok((await t.store.topics.deleteTopic(tenancyId, topic.id, cur.etag, T0)).ok);
        });
        const r = await refusal(casUpdate({ what: 'Topic', id: topic.id, ifMatch: undefined, ...io, change: (cur) => ({ ...cur, description: 'ours' }) }));
        assert.deepEqual(r, { code: 'NotAuthorizedOrNotFound', status: 404, message: `Topic ${topic.id} not found or not authorized.` });
        assert.deepEqual(io.calls, { loads: 1, writes: 1 });
      });

      it('lets load refuse a missing row with its own error', async () => {
        const id = newOcid('onstopic');
        const r = await refusal(casUpdate({ what: 'Topic', id, ifMatch: undefined, ...counted(id), change: (cur) => cur }));
        assert.equal(r.message, `Topic ${id} not found or not authorized.`);
      });

      it('runs check after the if-match comparison, and refuses before writing', async () => {
        const topic = await newTopic({ lifecycleState: 'DELETING' });
        const check = (cur: Topic): void => {
          if (cur.lifecycleState !== 'ACTIVE') throw new IncorrectStateError(`Topic ${topic.id} is ${cur.lifecycleState}.`);
        };
        const stale = counted(topic.id);
        assert.equal((await refusal(casUpdate({ what: 'Topic', id: topic.id, ifMatch: 'stale', ...stale, check, change: (cur) => cur }))).code, 'NoEtagMatch');
        const io = counted(topic.id);
        const r = await refusal(casUpdate({ what: 'Topic', id: topic.id, ifMatch: undefined, ...io, check, change: (cur) => cur }));
        assert.deepEqual([r.code, r.message], ['IncorrectState', `Topic ${topic.id} is DELETING.`]);
        assert.equal(stale.calls.writes + io.calls.writes, 0);
      });
    });

    describe('guardedDelete', () => {
      const removeTopic = (id: string) => (etag: string) => t.store.topics.deleteTopic(tenancyId, id, etag, T0);

      it('deletes under the etag read, and returns the deleted row', async () => {
        const current = await newTopic();
        const out = await guardedDelete({ what: 'Topic', id: current.id, ifMatch: current.etag, current, remove: removeTopic(current.id) });
        assert.equal(out.id, current.id);
        assert.equal(await stored(current.id), undefined);
      });

      it('refuses a stale if-match with NoEtagMatch and leaves the row', async () => {
        const current = await newTopic();
        let removed = false;
        const r = await refusal(guardedDelete({ what: 'Topic', id: current.id, ifMatch: 'stale', current, remove: async (etag) => {
          removed = true;
          return removeTopic(current.id)(etag);
        } }));
        assert.equal(r.code, 'NoEtagMatch');
        assert.equal(removed, false);
        assert.deepEqual(await stored(current.id), current);
      });

      it('answers NoEtagMatch when the row changed since it was read (a delete is not retried)', async () => {
        const current = await newTopic();
        await otherWriter(current.id, 'theirs');
        const r = await refusal(guardedDelete({ what: 'Topic', id: current.id, ifMatch: undefined, current, remove: removeTopic(current.id) }));
        assert.equal(r.code, 'NoEtagMatch');
        assert.equal((await stored(current.id))?.description, 'theirs');
      });

      it('answers the resource\'s NotFound when the row is already gone', async () => {
        const current = await newTopic();
        assert.ok((await removeTopic(current.id)(current.etag)).ok);
        const r = await refusal(guardedDelete({ what: 'Topic', id: current.id, ifMatch: undefined, current, remove: removeTopic(current.id) }));
        assert.deepEqual(r, { code: 'NotAuthorizedOrNotFound', status: 404, message: `Topic ${current.id} not found or not authorized.` });
      });

      it('answers 409 Conflict, naming what is in the way, while a dependant remains', async () => {
        const current = compartmentFixture(tenancyId, { name: 'busy' });
        await t.store.directory.insertCompartment(current);
        await newTopic({ compartmentId: current.id });
        const r = await refusal(guardedDelete({
          what: 'Compartment',
          id: current.id,
          ifMatch: undefined,
          current,
          remove: (etag) => t.store.identity.deleteCompartment(tenancyId, current.id, etag, T0),
        }));
        assert.equal(r.code, 'Conflict');
        assert.equal(r.status, 409);
        assert.match(r.message, new RegExp(`^Compartment ${current.id} cannot be deleted: .+\\.$`));
        assert.equal((await t.store.directory.getCompartment(tenancyId, current.id))?.lifecycleState, 'ACTIVE');
      });
    });

    describe('moveToCompartment', () => {
      let src: string;
      let dst: string;
      /** A user who may manage topics in `src` only. */
      let member: Principal;

      before(async () => {
        const a = compartmentFixture(tenancyId, { name: 'Src' });
        const b = compartmentFixture(tenancyId, { name: 'Dst' });
        for (const c of [a, b]) await t.store.directory.insertCompartment(c);
        [src, dst] = [a.id, b.id];
        const userId = newOcid('user');
        await t.store.identity.insertUser({
          id: userId, tenancyId, name: 'member', description: '', email: null, lifecycleState: 'ACTIVE', etag: newEtag(), freeformTags: {}, definedTags: {}, createdAt: T0,
        });
        const groupId = newOcid('group');
        await t.store.identity.insertGroup({ id: groupId, tenancyId, name: 'Team', description: '', lifecycleState: 'ACTIVE', etag: newEtag(), freeformTags: {}, definedTags: {}, createdAt: T0 });
        await t.store.identity.insertMembership({ id: newOcid('groupmembership'), tenancyId, userId, groupId, lifecycleState: 'ACTIVE', createdAt: T0 });
        await t.store.identity.insertPolicy({
          id: newOcid('policy'), tenancyId, compartmentId: tenancyId, name: 'team-src', description: '',
          statements: ['Allow group Team to manage ons-topics in compartment Src'], versionDate: null,
          lifecycleState: 'ACTIVE', etag: newEtag(), freeformTags: {}, definedTags: {}, createdAt: T0,
        });
        member = { tenancyId, userId };
      });

      /** A topic move as TopicService makes it, recording the order of the steps. */
      function move(caller: Principal, topic: Topic, compartmentId: string | undefined, opts: { ifMatch?: string; retryToken?: string } = {}) {
        const steps: string[] = [];
        // A fresh authorizer: the seeded one may hold a policy snapshot from before the member's policy.
        const authz = new Authorizer(t.store.identity);
        const done = moveToCompartment({ store: t.store, authz, now: () => T0 }, {
          caller,
          compartmentId,
          retryToken: opts.retryToken,
          op: 'ChangeTopicCompartment',
          retryOperation: `changeTopicCompartment:${topic.id}`,
          authorizeSource: async () => {
            steps.push('source');
            await authz.require(caller, 'ChangeTopicCompartment', topic.compartmentId, { refusal: () => new NotFoundError('Topic', topic.id) });
          },
          move: async (target) => {
            steps.push(`move:${target}`);
            return casUpdate({ what: 'Topic', id: topic.id, ifMatch: opts.ifMatch, ...counted(topic.id), change: (cur) => ({ ...cur, compartmentId: target }) });
          },
        });
        return { steps, done };
      }

      it('moves the resource once the caller may act in both compartments', async () => {
        const topic = await newTopic();
        const m = move(admin, topic, src);
        await m.done;
        assert.deepEqual(m.steps, ['source', `move:${src}`]);
        assert.equal((await stored(topic.id))?.compartmentId, src);
      });

      it('asks for the destination before anything else', async () => {
        const topic = await newTopic();
        const m = move(admin, topic, undefined);
        assert.deepEqual(await refusal(m.done), { code: 'MissingParameter', status: 400, message: 'Missing required parameter: compartmentId.' });
        assert.deepEqual(m.steps, []);
      });

      it('authorizes the source first: a resource the caller may not touch looks missing, whatever the destination', async () => {
        const topic = await newTopic({ compartmentId: dst });
        const m = move(member, topic, newOcid('compartment'));
        assert.equal((await refusal(m.done)).message, `Topic ${topic.id} not found or not authorized.`);
        assert.deepEqual(m.steps, ['source']);
      });

      it('refuses a missing destination, and one the caller may not act in, as a missing compartment', async () => {
        const topic = await newTopic({ compartmentId: src });
        const gone = newOcid('compartment');
        const missing = move(member, topic, gone);
        assert.deepEqual(await refusal(missing.done), { code: 'NotAuthorizedOrNotFound', status: 404, message: `Compartment ${gone} not found or not authorized.` });
        const refused = move(member, topic, dst);
        assert.equal((await refusal(refused.done)).message, `Compartment ${dst} not found or not authorized.`);
        assert.deepEqual([...missing.steps, ...refused.steps], ['source', 'source']);
        assert.equal((await stored(topic.id))?.compartmentId, src);
      });

      it('passes the caller\'s if-match to the write', async () => {
        const topic = await newTopic();
        const m = move(admin, topic, dst, { ifMatch: 'stale' });
        assert.equal((await refusal(m.done)).code, 'NoEtagMatch');
        assert.equal((await stored(topic.id))?.compartmentId, tenancyId);
      });

      it('moves once per opc-retry-token; the same token for another destination is refused', async () => {
        const topic = await newTopic();
        const token = `move-${topic.id.slice(-8)}`;
        const first = move(admin, topic, dst, { retryToken: token });
        await first.done;
        const replay = move(admin, topic, dst, { retryToken: token });
        await replay.done;
        assert.deepEqual(replay.steps, ['source']);
        const other = move(admin, topic, src, { retryToken: token });
        assert.equal((await refusal(other.done)).code, 'InvalidatedRetryToken');
        assert.equal((await stored(topic.id))?.compartmentId, dst);
      });
    });
  });
}
