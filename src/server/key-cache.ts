import type { PublicKeyLookup } from '../api/auth/signature.js';
import { ACCESS_SNAPSHOT_TTL_MS } from '../core/iam/authorizer.js';

/**
 * Every signed request looks its key up; a short-lived cache spares the store a read per request.
 * A revoked key stops working at once on the node that revoked it (`forget`) and within the TTL elsewhere.
 */
export function cachedKeyLookup(lookup: PublicKeyLookup, ttlMs = ACCESS_SNAPSHOT_TTL_MS, max = 1000): { lookup: PublicKeyLookup; forget: (tenancyId: string) => void } {
  const cache = new Map<string, { pem: string; at: number }>();
  // Concurrent requests signed with the same key share one read when its entry has run out.
  const inflight = new Map<string, Promise<string | undefined>>();
  const forget = (tenancyId: string): void => {
    for (const map of [cache, inflight]) for (const k of map.keys()) if (k.startsWith(`${tenancyId}/`)) map.delete(k);
  };
  const cached: PublicKeyLookup = async (tenancyId, userId, fingerprint) => {
    const k = `${tenancyId}/${userId}/${fingerprint}`;
    const hit = cache.get(k);
    if (hit !== undefined && Date.now() - hit.at < ttlMs) return hit.pem;
    let read = inflight.get(k);
    if (read === undefined) {
      const started = lookup(tenancyId, userId, fingerprint);
      read = started;
      inflight.set(k, started);
      void started.then(
        (pem) => {
          // A revocation while the read ran (forget) must not be undone by caching what it read.
          if (inflight.get(k) !== started) return;
          inflight.delete(k);
          if (pem === undefined) return;
          if (cache.size >= max) cache.clear();
          cache.set(k, { pem, at: Date.now() });
        },
        () => {
          if (inflight.get(k) === started) inflight.delete(k);
        },
      );
    }
    return read;
  };
  return { lookup: cached, forget };
}
