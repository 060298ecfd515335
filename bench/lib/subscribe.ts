/**
 * Many subscriptions quickly: signed creates with bounded concurrency, each
 * confirmed by the receiver's GET of the confirmation URL it is sent (as a real
 * receiver would), then a signed GET per subscription (same concurrency) until all
 * are ACTIVE.
 */
import type { HeraldApi } from './herald.js';
import { sleep } from './stats.js';

async function pool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export async function subscribeMany(api: HeraldApi, compartmentId: string, topicId: string, endpoints: string[], concurrency = 32, timeoutMs = 120_000): Promise<string[]> {
  const ids: string[] = new Array<string>(endpoints.length);
  await pool(endpoints, concurrency, async (endpoint, i) => {
    const s = await api.call<{ id: string }>('POST', '/20181201/subscriptions', { topicId, compartmentId, protocol: 'CUSTOM_HTTPS', endpoint });
    ids[i] = s.id;
  });
  const deadline = Date.now() + timeoutMs;
  let pending = ids;
  while (pending.length > 0) {
    const still: string[] = [];
    await pool(pending, concurrency, async (id) => {
      const s = await api.call<{ lifecycleState: string }>('GET', `/20181201/subscriptions/${id}`);
      if (s.lifecycleState !== 'ACTIVE') still.push(id);
    });
    pending = still;
    if (pending.length === 0) break;
    if (Date.now() > deadline) throw new Error(`${pending.length} of ${ids.length} subscriptions were not confirmed within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
  return ids;
}
