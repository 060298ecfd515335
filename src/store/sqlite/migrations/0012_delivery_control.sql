-- Herald schema v12 (SQLite): delivery control (filter policies, endpoint health, replay, rate limits).

-- A subscription's controls. filter_policy is the policy's JSON text; rate_limit is deliveries per second.
-- The health columns are written by the delivery engine's completion batches, never by replaceSubscription
-- (they are not among SUBSCRIPTION_COLUMNS), so an etag write cannot undo a failure count.
ALTER TABLE subscriptions ADD COLUMN filter_policy TEXT;
ALTER TABLE subscriptions ADD COLUMN rate_limit INTEGER;
ALTER TABLE subscriptions ADD COLUMN failing_since INTEGER;
ALTER TABLE subscriptions ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN last_failure TEXT;
ALTER TABLE subscriptions ADD COLUMN disabled_at INTEGER;

-- Two delivery states join: FILTERED (final: the subscription's filter policy refused the message) and HELD
-- (the subscription is disabled: kept, not attempted, its retry window paused since held_at). SQLite cannot
-- alter a CHECK constraint, so the delivery tables are rebuilt (SQLite's documented 12-step way, inside this
-- migration's transaction): attempts first so that dropping deliveries cascades into nothing.
CREATE TABLE deliveries_v12 (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  tenancy_id         TEXT NOT NULL,
  topic_id           TEXT NOT NULL,
  subscription_id    TEXT NOT NULL,
  message_id         TEXT,
  kind               TEXT NOT NULL CHECK (kind IN ('MESSAGE', 'CONFIRMATION')),
  protocol           TEXT NOT NULL,
  state              TEXT NOT NULL CHECK (state IN ('PENDING', 'IN_FLIGHT', 'DELIVERED', 'DEAD', 'CANCELLED', 'FILTERED', 'HELD')),
  attempts           INTEGER NOT NULL DEFAULT 0,
  next_attempt_at    INTEGER NOT NULL,
  window_start_at    INTEGER NOT NULL,
  lease_owner        TEXT,
  confirmation_nonce INTEGER,
  last_error         TEXT,
  last_status        TEXT,
  delivered_at       INTEGER,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  held_at            INTEGER
) STRICT;
INSERT INTO deliveries_v12 (id, tenancy_id, topic_id, subscription_id, message_id, kind, protocol, state, attempts, next_attempt_at,
  window_start_at, lease_owner, confirmation_nonce, last_error, last_status, delivered_at, created_at, updated_at)
  SELECT id, tenancy_id, topic_id, subscription_id, message_id, kind, protocol, state, attempts, next_attempt_at,
  window_start_at, lease_owner, confirmation_nonce, last_error, last_status, delivered_at, created_at, updated_at FROM deliveries;
-- Ids are never reused, not even those of pruned deliveries.
UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'deliveries'), 0)) WHERE name = 'deliveries_v12';
INSERT INTO sqlite_sequence (name, seq)
  SELECT 'deliveries_v12', seq FROM sqlite_sequence WHERE name = 'deliveries' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'deliveries_v12');

CREATE TABLE delivery_attempts_v12 (
  delivery_id      INTEGER NOT NULL REFERENCES deliveries_v12 (id) ON DELETE CASCADE,
  attempt_no       INTEGER NOT NULL,
  started_at       INTEGER NOT NULL,
  duration_ms      INTEGER NOT NULL,
  outcome          TEXT NOT NULL,
  status_code      INTEGER,
  reply            TEXT,
  error            TEXT,
  response_excerpt TEXT,
  node             TEXT,
  PRIMARY KEY (delivery_id, attempt_no)
) STRICT;
INSERT INTO delivery_attempts_v12 SELECT * FROM delivery_attempts;

DROP TABLE delivery_attempts;
DROP TABLE deliveries;
-- Renaming also rewrites delivery_attempts_v12's foreign key to name deliveries.
ALTER TABLE deliveries_v12 RENAME TO deliveries;
ALTER TABLE delivery_attempts_v12 RENAME TO delivery_attempts;

CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state IN ('PENDING', 'IN_FLIGHT');
CREATE UNIQUE INDEX deliveries_message ON deliveries (message_id, subscription_id) WHERE kind = 'MESSAGE';
CREATE INDEX deliveries_dead_subscription ON deliveries (tenancy_id, subscription_id, updated_at, id) WHERE state = 'DEAD';
CREATE INDEX deliveries_dead_topic ON deliveries (tenancy_id, topic_id, updated_at, id) WHERE state = 'DEAD';
CREATE INDEX deliveries_confirmation_age ON deliveries (created_at) WHERE kind = 'CONFIRMATION';
-- A disabled subscription's held deliveries, released oldest first on enable. Only held rows: no cost on the hot path.
CREATE INDEX deliveries_held ON deliveries (subscription_id, id) WHERE state = 'HELD';
