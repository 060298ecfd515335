import { Counter, Gauge, type Registry } from 'prom-client';
import type { RetentionStats } from '../core/retention.js';
import type { StorageStats, Store } from '../store/store.js';

/** A counter that mirrors a running total kept elsewhere (read at scrape time). */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => Promise<number | undefined> | number | undefined): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    async collect() {
      const v = await read();
      if (v === undefined || v < seen) return;
      this.inc(v - seen);
      seen = v;
    },
  });
}

function gauge(registry: Registry, name: string, help: string, read: () => Promise<number | undefined> | number | undefined): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      const v = await read();
      if (v !== undefined) this.set(v);
    },
  });
}

/** Store size, the SQLite WAL and its checkpoint holds, and retention, on /metrics. */
export function registerStorageMetrics(registry: Registry, store: Store, retention: () => RetentionStats, now: () => number = Date.now): void {
  let cached: { at: number; stats: Promise<StorageStats> } | undefined;
  // One read of the store's sizes serves every gauge of one scrape.
  const storage = (): Promise<StorageStats> => {
    if (cached === undefined || now() - cached.at > 500) cached = { at: now(), stats: store.storageStats() };
    return cached.stats;
  };
  gauge(registry, 'herald_store_database_bytes', 'Size of the store: the SQLite file, or Herald\'s PostgreSQL tables with indexes.', async () => (await storage()).databaseBytes);
  if (store.kind === 'sqlite') {
    gauge(registry, 'herald_store_wal_bytes', 'Size of the SQLite WAL file.', async () => (await storage()).walBytes);
    mirroredCounter(registry, 'herald_store_wal_restarts_total', 'Times the WAL was restarted (rewound to its beginning).', async () => (await storage()).wal?.restarts);
    mirroredCounter(registry, 'herald_store_wal_pauses_total', 'Times writers were held while the WAL was restarted.', async () => (await storage()).wal?.pauses);
    mirroredCounter(registry, 'herald_store_wal_pause_seconds_total', 'Time writers were held while the WAL was restarted.', async () => {
      const ms = (await storage()).wal?.pauseMsTotal;
      return ms === undefined ? undefined : ms / 1000;
    });
    gauge(registry, 'herald_store_wal_pause_max_seconds', 'Longest hold of the writers for a WAL restart over the last minute.', async () => {
      const ms = (await storage()).wal?.pauseMsMaxRecent;
      return ms === undefined ? undefined : ms / 1000;
    });
  }
  mirroredCounter(registry, 'herald_retention_pruned_messages_total', 'Messages pruned (with their deliveries and attempts) past --message-retention.', () => retention().prunedTotal);
  mirroredCounter(
    registry,
    'herald_retention_pruned_records_total',
    'Other rows pruned past --message-retention (confirmation sends, dev-mailbox mail) and expired opc-retry-token records.',
    () => retention().recordsPrunedTotal,
  );
  gauge(registry, 'herald_retention_held_messages', 'Messages past --message-retention kept because a delivery of theirs is unfinished (last sweep).', () => retention().heldMessages);
  gauge(registry, 'herald_retention_oldest_held_age_seconds', 'Age of the oldest of those messages (0 when none).', () => {
    const at = retention().oldestHeldAt;
    return at === null ? 0 : Math.max(0, (now() - at) / 1000);
  });
  gauge(registry, 'herald_retention_last_sweep_timestamp_seconds', 'When the last retention sweep started (0 before the first).', () => (retention().lastSweepAt ?? 0) / 1000);
}
