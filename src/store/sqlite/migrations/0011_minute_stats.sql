-- The console's stored history: what each topic did in each minute, kept for 8 days. Every node's recorder
-- adds its counts to the minute's row (INSERT ... ON CONFLICT DO UPDATE SET x = x + excluded.x), so minutes
-- merge across nodes and flushes. lat_00 .. lat_20 are the publish->delivery latency histogram of delivered
-- notifications: lat_NN counts latencies of at most 2^NN ms (lat_00: up to 1 ms), lat_20 those above
-- 2^19 ms (about 8.7 minutes); see LATENCY_BOUNDS_MS in src/core/stats.ts.
CREATE TABLE minute_stats (
  tenancy_id       TEXT NOT NULL,
  topic_id         TEXT NOT NULL,
  minute           INTEGER NOT NULL,
  published        INTEGER NOT NULL DEFAULT 0,
  delivered        INTEGER NOT NULL DEFAULT 0,
  failed_attempts  INTEGER NOT NULL DEFAULT 0,
  dead_letters     INTEGER NOT NULL DEFAULT 0,
  confirmations    INTEGER NOT NULL DEFAULT 0,
  lat_00          INTEGER NOT NULL DEFAULT 0,
  lat_01          INTEGER NOT NULL DEFAULT 0,
  lat_02          INTEGER NOT NULL DEFAULT 0,
  lat_03          INTEGER NOT NULL DEFAULT 0,
  lat_04          INTEGER NOT NULL DEFAULT 0,
  lat_05          INTEGER NOT NULL DEFAULT 0,
  lat_06          INTEGER NOT NULL DEFAULT 0,
  lat_07          INTEGER NOT NULL DEFAULT 0,
  lat_08          INTEGER NOT NULL DEFAULT 0,
  lat_09          INTEGER NOT NULL DEFAULT 0,
  lat_10          INTEGER NOT NULL DEFAULT 0,
  lat_11          INTEGER NOT NULL DEFAULT 0,
  lat_12          INTEGER NOT NULL DEFAULT 0,
  lat_13          INTEGER NOT NULL DEFAULT 0,
  lat_14          INTEGER NOT NULL DEFAULT 0,
  lat_15          INTEGER NOT NULL DEFAULT 0,
  lat_16          INTEGER NOT NULL DEFAULT 0,
  lat_17          INTEGER NOT NULL DEFAULT 0,
  lat_18          INTEGER NOT NULL DEFAULT 0,
  lat_19          INTEGER NOT NULL DEFAULT 0,
  lat_20          INTEGER NOT NULL DEFAULT 0,
  -- Tenancy first: the console reads one tenancy's range of minutes.
  PRIMARY KEY (tenancy_id, minute, topic_id)
) STRICT;

-- Pruning takes the oldest minutes of every tenancy.
CREATE INDEX minute_stats_minute ON minute_stats (minute);
