import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConflictError } from '../../src/core/errors.js';
import type { Application, FnFunction } from '../../src/core/function-models.js';
import { newEtag, newOcid } from '../../src/core/ids.js';
import { FUNCTION_CALLS_KEPT } from '../../src/core/ports/functions.js';
import type { Store } from '../../src/store/store.js';
import { execSql, migrateTo } from '../helpers/migrations.js';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.js';
import { compartmentFixture, seedTenancy, T0 } from './fixtures.js';

/** The FunctionStore contract both backends must satisfy (same rules as topics: live rows, tenancy scope, etag CAS). */

function appFixture(tenancyId: string, over: Partial<Application> = {}): Application {
  return {
    id: newOcid('fnapp'),
    tenancyId,
    compartmentId: tenancyId,
    displayName: `app-${newEtag()}`,
    lifecycleState: 'ACTIVE',
    config: { B: '2', A: '1' },
    subnetIds: ['ocid1.subnet.oc1..x'],
    freeformTags: { team: 'fn' },
    definedTags: { ns: { k: 'v' } },
    etag: newEtag(),
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

function fnFixture(app: Application, over: Partial<FnFunction> = {}): FnFunction {
  return {
    id: newOcid('fnfunc'),
    tenancyId: app.tenancyId,
    compartmentId: app.compartmentId,
    applicationId: app.id,
    displayName: `fn-${newEtag()}`,
    image: 'herald/bundle@sha256:' + 'a'.repeat(64),
    imageDigest: 'sha256:' + 'a'.repeat(64),
    memoryInMBs: 256,
    timeoutInSeconds: 30,
    config: { K: 'v' },
    lifecycleState: 'ACTIVE',
    freeformTags: {},
    definedTags: {},
    etag: newEtag(),
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

const countRows = async (t: TestStore, sql: string, params: unknown[]): Promise<number> => Number((await execSql(t, sql, params))[0]?.n);

const listApps = (s: Store, tenancyId: string, compartmentId: string, over: Partial<Parameters<Store['functions']['listApplications']>[0]> = {}) =>
  s.functions.listApplications({ tenancyId, compartmentId, sortBy: 'timeCreated', sortOrder: 'ASC', offset: 0, limit: 100, ...over });

for (const kind of STORE_KINDS) {
  describe(`FunctionStore contract on ${kind}`, () => {
    let t: TestStore;
    let store: Store;
    let tenancyId: string;
    before(async () => {
      t = await makeTestStore(kind);
      store = t.store;
      tenancyId = (await seedTenancy(store)).tenancy.id;
    });
    after(async () => {
      await t.cleanup();
    });

    it('round-trips an application, scoped to its tenancy, and frees its name once DELETED', async () => {
      const a = appFixture(tenancyId);
      await store.functions.insertApplication(a);
      assert.deepEqual(await store.functions.getApplication(tenancyId, a.id), a);
      const other = (await seedTenancy(store, 'other')).tenancy.id;
      assert.equal(await store.functions.getApplication(other, a.id), undefined);
      await assert.rejects(store.functions.insertApplication(appFixture(tenancyId, { displayName: a.displayName })), ConflictError);
      // Same name in another compartment is fine.
      const c = compartmentFixture(tenancyId);
      await store.directory.insertCompartment(c);
      await store.functions.insertApplication(appFixture(tenancyId, { displayName: a.displayName, compartmentId: c.id }));
      const del = await store.functions.deleteApplication(tenancyId, a.id, a.etag, T0 + 1);
      assert.ok(del.ok);
      assert.equal(await store.functions.getApplication(tenancyId, a.id), undefined);
      await store.functions.insertApplication(appFixture(tenancyId, { displayName: a.displayName }));
    });

    it('replaces and deletes applications only under the current etag, and refuses deleting one with live functions', async () => {
      const a = appFixture(tenancyId);
      await store.functions.insertApplication(a);
      const next = { ...a, config: { X: 'y' }, etag: newEtag(), updatedAt: T0 + 5 };
      assert.deepEqual(await store.functions.replaceApplication(next, 'deadbeef'), { ok: false, reason: 'etag-mismatch' });
      assert.deepEqual(await store.functions.replaceApplication(next, a.etag), { ok: true, value: next });
      assert.deepEqual(await store.functions.replaceApplication({ ...next, id: newOcid('fnapp') }, next.etag), { ok: false, reason: 'not-found' });

      const f = fnFixture(next);
      assert.equal(await store.functions.insertFunction(f), true);
      assert.deepEqual(await store.functions.deleteApplication(tenancyId, a.id, next.etag, T0), { ok: false, reason: 'has-functions' });
      assert.deepEqual(await store.functions.deleteApplication(tenancyId, a.id, 'deadbeef', T0), { ok: false, reason: 'etag-mismatch' });
      assert.ok((await store.functions.deleteFunction(tenancyId, f.id, f.etag, T0 + 6)).ok);
      const del = await store.functions.deleteApplication(tenancyId, a.id, next.etag, T0 + 7);
      assert.ok(del.ok && del.value.lifecycleState === 'DELETED');
      assert.deepEqual(await store.functions.deleteApplication(tenancyId, a.id, next.etag, T0), { ok: false, reason: 'not-found' });
      // A function cannot be added to a deleted application.
      assert.equal(await store.functions.insertFunction(fnFixture(next)), false);
    });

    it('moves live functions with their application to another compartment', async () => {
      const c = compartmentFixture(tenancyId);
      await store.directory.insertCompartment(c);
      const a = appFixture(tenancyId);
      await store.functions.insertApplication(a);
      const f = fnFixture(a);
      await store.functions.insertFunction(f);
      const moved = { ...a, compartmentId: c.id, etag: newEtag() };
      assert.ok((await store.functions.replaceApplication(moved, a.etag)).ok);
      assert.equal((await store.functions.getFunction(tenancyId, f.id))?.compartmentId, c.id);
    });

    it('lists applications with filters, sorting and paging, hiding DELETED', async () => {
      const c = compartmentFixture(tenancyId);
      await store.directory.insertCompartment(c);
      const apps = ['charlie', 'alpha', 'bravo', 'delta'].map((n, i) => appFixture(tenancyId, { compartmentId: c.id, displayName: n, createdAt: T0 + i }));
      for (const a of apps) await store.functions.insertApplication(a);
      await store.functions.deleteApplication(tenancyId, apps[3]!.id, apps[3]!.etag, T0);
      const byTime = await listApps(store, tenancyId, c.id);
      assert.deepEqual(byTime.items.map((a) => a.displayName), ['charlie', 'alpha', 'bravo']);
      const byName = await listApps(store, tenancyId, c.id, { sortBy: 'displayName', sortOrder: 'DESC' });
      assert.deepEqual(byName.items.map((a) => a.displayName), ['charlie', 'bravo', 'alpha']);
      const p1 = await listApps(store, tenancyId, c.id, { sortBy: 'displayName', limit: 2 });
      assert.deepEqual([p1.items.map((a) => a.displayName), p1.nextOffset], [['alpha', 'bravo'], 2]);
      const p2 = await listApps(store, tenancyId, c.id, { sortBy: 'displayName', limit: 2, offset: 2 });
      assert.deepEqual([p2.items.map((a) => a.displayName), p2.nextOffset], [['charlie'], null]);
      assert.equal((await listApps(store, tenancyId, c.id, { displayName: 'bravo' })).items[0]?.id, apps[2]!.id);
      assert.equal((await listApps(store, tenancyId, c.id, { id: apps[1]!.id })).items.length, 1);
      assert.equal((await listApps(store, tenancyId, c.id, { lifecycleState: 'INACTIVE' })).items.length, 0);
      assert.equal((await listApps(store, (await seedTenancy(store, 'x')).tenancy.id, c.id)).items.length, 0);
    });

    it('keeps function names unique per application, with CAS updates and list filters', async () => {
      const a = appFixture(tenancyId);
      const b = appFixture(tenancyId);
      await store.functions.insertApplication(a);
      await store.functions.insertApplication(b);
      const f = fnFixture(a, { displayName: 'hello' });
      assert.equal(await store.functions.insertFunction(f), true);
      assert.deepEqual(await store.functions.getFunction(tenancyId, f.id), f);
      assert.deepEqual(await store.functions.getFunctionById(f.id), f);
      await assert.rejects(store.functions.insertFunction(fnFixture(a, { displayName: 'hello' })), ConflictError);
      assert.equal(await store.functions.insertFunction(fnFixture(b, { displayName: 'hello' })), true);
      // Another tenancy cannot add functions to this application.
      const other = (await seedTenancy(store, 'y')).tenancy.id;
      assert.equal(await store.functions.insertFunction(fnFixture(a, { tenancyId: other, displayName: 'sneaky' })), false);
      assert.equal(await store.functions.getFunction(other, f.id), undefined);

      const g = fnFixture(a, { displayName: 'goodbye', createdAt: T0 + 1 });
      await store.functions.insertFunction(g);
      const renamed = { ...g, displayName: 'hello', etag: newEtag() };
      await assert.rejects(store.functions.replaceFunction(renamed, g.etag), ConflictError);
      const next = { ...g, memoryInMBs: 1024, etag: newEtag() };
      assert.deepEqual(await store.functions.replaceFunction(next, 'deadbeef'), { ok: false, reason: 'etag-mismatch' });
      assert.deepEqual(await store.functions.replaceFunction(next, g.etag), { ok: true, value: next });

      const list = await store.functions.listFunctions({ tenancyId, applicationId: a.id, sortBy: 'displayName', sortOrder: 'ASC', offset: 0, limit: 1 });
      assert.deepEqual([list.items.map((x) => x.displayName), list.nextOffset], [['goodbye'], 1]);
      const named = await store.functions.listFunctions({ tenancyId, applicationId: a.id, displayName: 'hello', sortBy: 'id', sortOrder: 'ASC', offset: 0, limit: 10 });
      assert.deepEqual(named.items.map((x) => x.id), [f.id]);
      assert.ok((await store.functions.deleteFunction(tenancyId, f.id, f.etag, T0 + 9)).ok);
      assert.equal(await store.functions.getFunctionById(f.id), undefined);
      const left = await store.functions.listFunctions({ tenancyId, applicationId: a.id, sortBy: 'timeCreated', sortOrder: 'DESC', offset: 0, limit: 10 });
      assert.deepEqual(left.items.map((x) => x.id), [g.id]);
    });

    it('stores bundles content-addressed, idempotently, owned by the tenancies that uploaded them', async () => {
      const bytes = Buffer.from([0x1f, 0x8b, 0, 1, 2, 255]);
      const digest = 'sha256:' + 'b'.repeat(64);
      const other = (await seedTenancy(store, 'bundles')).tenancy.id;
      assert.equal(await store.functions.ownsBundle(tenancyId, digest), false);
      await store.functions.putBundle(tenancyId, { digest, bytes, size: bytes.length, createdAt: T0 });
      await store.functions.putBundle(tenancyId, { digest, bytes, size: bytes.length, createdAt: T0 + 1 });
      assert.equal(await store.functions.ownsBundle(tenancyId, digest), true);
      // Knowing the digest is not owning it.
      assert.equal(await store.functions.ownsBundle(other, digest), false);
      assert.deepEqual(await store.functions.getBundle(digest), { digest, bytes, size: 6, createdAt: T0 });
      assert.equal(await store.functions.getBundle('sha256:' + 'c'.repeat(64)), undefined);
      assert.equal(await store.functions.ownsBundle(tenancyId, 'sha256:' + 'c'.repeat(64)), false);

      // The same bytes from another tenancy: stored once (the first upload's row), with two owners.
      await store.functions.putBundle(other, { digest, bytes, size: bytes.length, createdAt: T0 + 2 });
      assert.equal(await store.functions.ownsBundle(other, digest), true);
      assert.equal(await store.functions.ownsBundle(tenancyId, digest), true);
      assert.deepEqual(await store.functions.getBundle(digest), { digest, bytes, size: 6, createdAt: T0 });
      assert.equal(await countRows(t, 'SELECT COUNT(*) AS n FROM function_bundles WHERE digest = ?', [digest]), 1);
      assert.equal(await countRows(t, 'SELECT COUNT(*) AS n FROM function_bundle_owners WHERE digest = ?', [digest]), 2);
    });

    it('records two owners when two tenancies upload the same bytes at once', async () => {
      const bytes = Buffer.from('same bytes, two tenancies');
      const digest = 'sha256:' + 'd'.repeat(64);
      const a = (await seedTenancy(store, 'race-a')).tenancy.id;
      const b = (await seedTenancy(store, 'race-b')).tenancy.id;
      const other = await t.openAnother();
      await Promise.all([
        store.functions.putBundle(a, { digest, bytes, size: bytes.length, createdAt: T0 }),
        other.functions.putBundle(b, { digest, bytes, size: bytes.length, createdAt: T0 }),
      ]);
      assert.deepEqual([await store.functions.ownsBundle(a, digest), await store.functions.ownsBundle(b, digest)], [true, true]);
      assert.equal(await countRows(t, 'SELECT COUNT(*) AS n FROM function_bundles WHERE digest = ?', [digest]), 1);
    });

    it('migration 7 gives each existing function\'s tenancy its bundle', async () => {
      const fresh = await makeTestStore(kind, { migrate: false });
      try {
        await migrateTo(fresh, 6);
        const s = fresh.store;
        // Written directly: the store's tenancy and compartment rows now carry columns a v6 schema lacks.
        const v6Tenancy = async (name: string): Promise<string> => {
          const id = newOcid('tenancy');
          await execSql(fresh, 'INSERT INTO tenancies (id, name, created_at) VALUES (?, ?, ?)', [id, name, T0]);
          await execSql(
            fresh,
            "INSERT INTO compartments (id, tenancy_id, parent_id, name, description, lifecycle_state, created_at) VALUES (?, ?, NULL, ?, '', 'ACTIVE', ?)",
            [id, id, name, T0],
          );
          return id;
        };
        const owner = await v6Tenancy('before');
        const bystander = await v6Tenancy('bystander');
        const bytes = Buffer.from('deployed before owners existed');
        const digest = 'sha256:' + 'e'.repeat(64);
        // The v6 bundle table, written directly: putBundle now also writes the owners table.
        await execSql(fresh, 'INSERT INTO function_bundles (digest, bytes, size, created_at) VALUES (?, ?, ?, ?)', [digest, bytes, bytes.length, T0]);
        const app = appFixture(owner);
        await s.functions.insertApplication(app);
        const live = fnFixture(app, { imageDigest: digest, image: 'herald/bundle@' + digest, createdAt: T0 + 5 });
        const gone = fnFixture(app, { imageDigest: digest, image: 'herald/bundle@' + digest, createdAt: T0 + 3 });
        assert.equal(await s.functions.insertFunction(live), true);
        assert.equal(await s.functions.insertFunction(gone), true);
        assert.ok((await s.functions.deleteFunction(owner, gone.id, gone.etag, T0 + 4)).ok);
        // A function whose bundle is missing gets no owner row (it could not run anyway).
        assert.equal(await s.functions.insertFunction(fnFixture(app, { imageDigest: 'sha256:' + 'f'.repeat(64) })), true);

        await s.migrate();
        assert.equal(await s.functions.ownsBundle(owner, digest), true);
        assert.equal(await s.functions.ownsBundle(bystander, digest), false);
        assert.equal(await s.functions.ownsBundle(owner, 'sha256:' + 'f'.repeat(64)), false);
        assert.equal(await countRows(fresh, 'SELECT COUNT(*) AS n FROM function_bundle_owners WHERE tenancy_id = ? AND digest = ? AND created_at = ?', [owner, digest, T0 + 3]), 1);
        assert.deepEqual((await s.functions.getBundle(digest))?.bytes, bytes);
      } finally {
        await fresh.cleanup();
      }
    });

    it('records calls newest first and keeps only the newest per function', async () => {
      const functionId = newOcid('fnfunc');
      const n = FUNCTION_CALLS_KEPT + 5;
      // Added without waiting for each write, as the invoker adds them: records are written in batches.
      const writes: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        writes.push(store.functions.insertFunctionCall({ functionId, callId: `c${String(i).padStart(4, '0')}`, startedAt: T0 + i, durationMs: i, status: i % 2 ? 'error' : 'success', logs: `log ${i}` }));
      }
      writes.push(store.functions.insertFunctionCall({ functionId, callId: 'c0204', startedAt: 0, durationMs: 0, status: 'dup', logs: '' }));
      await Promise.all(writes);
      const calls = await store.functions.listFunctionCalls(functionId, 1000);
      assert.equal(calls.length, FUNCTION_CALLS_KEPT);
      assert.deepEqual(calls[0], { functionId, callId: 'c0204', startedAt: T0 + 204, durationMs: 204, status: 'success', logs: 'log 204' });
      assert.equal(calls.at(-1)?.callId, 'c0005');
      assert.equal((await store.functions.listFunctionCalls(functionId, 3)).length, 3);
      assert.deepEqual(await store.functions.listFunctionCalls(newOcid('fnfunc'), 10), []);
    });

    it('keeps calls that started in the same millisecond as the oldest one kept', async () => {
      const functionId = newOcid('fnfunc');
      for (let i = 0; i < FUNCTION_CALLS_KEPT - 1; i++) {
        void store.functions.insertFunctionCall({ functionId, callId: `new${i}`, startedAt: T0 + 1000 + i, durationMs: 1, status: 'success', logs: '' });
      }
      // Three calls in one millisecond, older than the rest: the oldest kept is one of them, so all three stay.
      for (const callId of ['tie-a', 'tie-b', 'tie-c']) {
        void store.functions.insertFunctionCall({ functionId, callId, startedAt: T0, durationMs: 1, status: 'success', logs: '' });
      }
      await store.functions.insertFunctionCall({ functionId, callId: 'older', startedAt: T0 - 1, durationMs: 1, status: 'success', logs: '' });
      const ids = (await store.functions.listFunctionCalls(functionId, 1000)).map((c) => c.callId);
      assert.equal(ids.length, FUNCTION_CALLS_KEPT + 2);
      assert.deepEqual(ids.slice(-3).sort(), ['tie-a', 'tie-b', 'tie-c']);
      assert.ok(!ids.includes('older'));
    });

    it('lists a call record at once, before its batch would have been written', async () => {
      const functionId = newOcid('fnfunc');
      const written = store.functions.insertFunctionCall({ functionId, callId: 'now', startedAt: T0, durationMs: 3, status: 'success', logs: 'hi' });
      // No wait for `written`: the listing itself must include what was added before it.
      const calls = await store.functions.listFunctionCalls(functionId, 10);
      assert.deepEqual(calls, [{ functionId, callId: 'now', startedAt: T0, durationMs: 3, status: 'success', logs: 'hi' }]);
      await written;
    });

    it('writes the call records still waiting for their batch when the store closes', async () => {
      const functionId = newOcid('fnfunc');
      const node = await t.openAnother();
      const written = node.functions.insertFunctionCall({ functionId, callId: 'last', startedAt: T0, durationMs: 1, status: 'success', logs: '' });
      await node.close();
      await written;
      assert.deepEqual((await store.functions.listFunctionCalls(functionId, 10)).map((c) => c.callId), ['last']);
    });
  });
}
