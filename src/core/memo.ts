/**
 * Remembers a pure function's results by key, forgetting everything once `max` keys
 * are held (cheap, and the hot set refills at once). For per-subscription values that
 * cost an HMAC each and are asked for on every delivery.
 */
export function memoize<T>(max: number, fn: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let v = cache.get(key);
    if (v === undefined) {
      if (cache.size >= max) cache.clear();
      v = fn(key);
      cache.set(key, v);
    }
    return v;
  };
}
