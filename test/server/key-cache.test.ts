import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cachedKeyLookup } from '../../src/server/key-cache.js';

/** A lookup whose reads the test completes by hand, counting how many were made. */
function manualLookup() {
  const pending: { key: string; resolve: (pem: string | undefined) => void }[] = [];
  const lookup = (tenancyId: string, userId: string, fingerprint: string): Promise<string | undefined> =>
    new Promise((resolve) => pending.push({ key: `${tenancyId}/${userId}/${fingerprint}`, resolve }));
  return { lookup, pending };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('cachedKeyLookup', () => {
  it('answers repeated and concurrent requests for one key with one read', async () => {
    const { lookup, pending } = manualLookup();
    const keys = cachedKeyLookup(lookup, 60_000);
    const a = keys.lookup('t1', 'u1', 'fp');
    const b = keys.lookup('t1', 'u1', 'fp');
    assert.equal(pending.length, 1);
    pending[0]!.resolve('PEM-1');
    assert.deepEqual(await Promise.all([a, b]), ['PEM-1', 'PEM-1']);
    await settle();
    assert.equal(await keys.lookup('t1', 'u1', 'fp'), 'PEM-1');
    assert.equal(pending.length, 1);
  });

  it('reads again once the entry is older than its time to live', async () => {
    const { lookup, pending } = manualLookup();
    const keys = cachedKeyLookup(lookup, 0);
    const first = keys.lookup('t1', 'u1', 'fp');
    pending[0]!.resolve('PEM-1');
    assert.equal(await first, 'PEM-1');
    await settle();
    const second = keys.lookup('t1', 'u1', 'fp');
    assert.equal(pending.length, 2);
    pending[1]!.resolve('PEM-2');
    assert.equal(await second, 'PEM-2');
  });

  it('does not remember a missing key', async () => {
    const { lookup, pending } = manualLookup();
    const keys = cachedKeyLookup(lookup, 60_000);
    const first = keys.lookup('t1', 'u1', 'new');
    pending[0]!.resolve(undefined);
    assert.equal(await first, undefined);
    await settle();
    // Uploaded since: the next request must see it.
    const second = keys.lookup('t1', 'u1', 'new');
    assert.equal(pending.length, 2);
    pending[1]!.resolve('PEM-NEW');
    assert.equal(await second, 'PEM-NEW');
  });

  it('forgets a tenancy at once, even what a read still in flight brings back, and no other tenancy', async () => {
    const { lookup, pending } = manualLookup();
    const keys = cachedKeyLookup(lookup, 60_000);
    const other = keys.lookup('t2', 'u2', 'fp');
    pending[0]!.resolve('PEM-T2');
    assert.equal(await other, 'PEM-T2');
    const stale = keys.lookup('t1', 'u1', 'fp');
    // The key is revoked while its read is in flight: that read must not be cached.
    keys.forget('t1');
    pending[1]!.resolve('PEM-REVOKED');
    assert.equal(await stale, 'PEM-REVOKED');
    await settle();
    const fresh = keys.lookup('t1', 'u1', 'fp');
    assert.equal(pending.length, 3);
    pending[2]!.resolve(undefined);
    assert.equal(await fresh, undefined);
    // t2's entry survived t1's revocation.
    assert.equal(await keys.lookup('t2', 'u2', 'fp'), 'PEM-T2');
    assert.equal(pending.length, 3);
  });
});
