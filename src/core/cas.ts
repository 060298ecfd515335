/** Result of a compare-and-swap write guarded by an etag. */
export type CasResult<T> = { ok: true; value: T } | { ok: false; reason: 'not-found' | 'etag-mismatch' };

/** A delete that also refuses while something still depends on the row (a group with members, a non-empty compartment). */
export type GuardedDelete<T> = CasResult<T> | { ok: false; reason: 'not-empty'; detail: string };
