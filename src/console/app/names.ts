import { useEffect, useState } from 'preact/hooks';
import { ApiError, enc, get, OCI, type Subscription, type Topic } from './api';

/**
 * Subscriptions and topics by id, for rows that carry only ids (dead letters, deliveries). Each id is read once per
 * console session through the ordinary OCI API: a subscription's endpoint and a topic's name never change, so
 * the cache needs no expiry. A missing (deleted) one is remembered as null; any other failure is not cached.
 */
const subscriptions = new Map<string, Promise<Subscription | null>>();
const topics = new Map<string, Promise<Topic | null>>();

function cached<T>(cache: Map<string, Promise<T | null>>, id: string, path: string): Promise<T | null> {
  let p = cache.get(id);
  if (p === undefined) {
    p = get<T>(path).catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 404) return null;
      cache.delete(id);
      throw e;
    });
    cache.set(id, p);
  }
  return p;
}

export const subscriptionById = (id: string): Promise<Subscription | null> => cached(subscriptions, id, `${OCI}/subscriptions/${enc(id)}`);
export const topicById = (id: string): Promise<Topic | null> => cached(topics, id, `${OCI}/topics/${enc(id)}`);

export interface Names {
  /** undefined: not read yet; null: gone (or not readable). */
  subscription(id: string): Subscription | null | undefined;
  topic(id: string): Topic | null | undefined;
}

async function readAll<T>(ids: Set<string>, read: (id: string) => Promise<T | null>): Promise<Record<string, T | null>> {
  const out: Record<string, T | null> = {};
  await Promise.all([...ids].map(async (id) => {
    out[id] = await read(id).catch(() => null);
  }));
  return out;
}

/** The subscriptions and topics a page's rows name, read together (one batch per change of the ids shown). */
export function useNames(rows: readonly { subscriptionId?: string; topicId?: string }[]): Names {
  const [subs, setSubs] = useState<Record<string, Subscription | null>>({});
  const [tops, setTops] = useState<Record<string, Topic | null>>({});
  const subIds = new Set(rows.flatMap((r) => (r.subscriptionId === undefined ? [] : [r.subscriptionId])));
  const topicIds = new Set(rows.flatMap((r) => (r.topicId === undefined ? [] : [r.topicId])));
  // A stable key, so a poll that returns the same rows starts no new batch.
  const key = `${[...subIds].sort().join(',')}|${[...topicIds].sort().join(',')}`;
  useEffect(() => {
    let stopped = false;
    void Promise.all([readAll(subIds, subscriptionById), readAll(topicIds, topicById)]).then(([s, t]) => {
      if (stopped) return;
      setSubs(s);
      setTops(t);
    });
    return () => {
      stopped = true;
    };
  }, [key]);
  return { subscription: (id) => subs[id], topic: (id) => tops[id] };
}
