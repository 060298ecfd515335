-- Herald schema v14 (PostgreSQL): one rate-limit bucket per rate-limited subscription for all nodes, so a
-- subscription's limit holds however many nodes deliver to it (core/rate-bucket.ts has the arithmetic).
-- tokens may be fractional (refilled continuously); at is the latest time any node took from it; granted is
-- what the last take got (RETURNING reads it). Unlogged: a bucket is worth nothing after a crash (a new
-- bucket is a full one, as it is for a node that starts), and its writes need no WAL.
CREATE UNLOGGED TABLE rate_buckets (
  subscription_id TEXT COLLATE "C" PRIMARY KEY,
  per_second      INTEGER NOT NULL,
  tokens          DOUBLE PRECISION NOT NULL,
  at              BIGINT NOT NULL,
  granted         INTEGER NOT NULL
);
