import type { Ports } from '../core/ports/index.js';

/**
 * One opened database, as the ports the domain declares (src/core/ports/). Both backends
 * implement every port with the same semantics, proven by the contract suites in test/store/.
 * The composition root hands each consumer only the ports it uses: the engine gets
 * `deliveries`, the runtime `functions`, console auth `console`.
 */
export interface Store extends Ports {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies numbered migrations not yet applied. Safe to call from several nodes at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** How big the store is, for /metrics. */
  storageStats(): Promise<StorageStats>;
}

/** What the checkpointer of an SQLite store has done. */
export interface WalStats {
  /** WAL restarts (the writer starts again at the file's beginning). */
  restarts: number;
  /** Times the writers were held for a restart, and for how long in all (ms). */
  pauses: number;
  pauseMsTotal: number;
  /** Longest hold over the last minute (ms). */
  pauseMsMaxRecent: number;
}

export interface StorageStats {
  /** SQLite: the database file; PostgreSQL: Herald's tables with their indexes and TOAST. */
  databaseBytes: number;
  /** SQLite only: the WAL file, and what its checkpointer did. */
  walBytes?: number;
  wal?: WalStats;
  /** PostgreSQL only: whether the server runs autovacuum (without it Herald vacuums what it prunes). */
  autovacuum?: boolean;
}
