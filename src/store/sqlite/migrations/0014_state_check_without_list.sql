-- Herald schema v14 (SQLite): the same delivery states, checked without a list. SQLite evaluates a CHECK of the form
-- `state IN (<seven values>)` by building a temporary table of the values every time a row's state is written (the
-- claim, the completion and every delivery inserted), which cost ~2.5 µs a row; the same rule spelled with `=` and
-- `OR` costs under 1. SQLite cannot alter a CHECK constraint, so the delivery tables are rebuilt as in migration 12
-- (SQLite's documented 12-step way, inside this migration's transaction): attempts too, so that dropping the old
-- deliveries cascades into nothing. Rows, ids, the id sequence and the indexes are kept.
CREATE TABLE deliveries_v14 (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  tenancy_id         TEXT NOT NULL,
  topic_id           TEXT NOT NULL,
  subscription_id    TEXT NOT NULL,
  message_id         TEXT,
  kind               TEXT NOT NULL CHECK (kind = 'MESSAGE' OR kind = 'CONFIRMATION'),
  protocol           TEXT NOT NULL,
  state              TEXT NOT NULL CHECK (state = 'PENDING' OR state = 'IN_FLIGHT' OR state = 'DELIVERED' OR state = 'DEAD'
                                          OR state = 'CANCELLED' OR state = 'FILTERED' OR state = 'HELD'),
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
  held_at            INTEGER,
  endpoint_key       TEXT
) STRICT;
INSERT INTO deliveries_v14 (id, tenancy_id, topic_id, subscription_id, message_id, kind, protocol, state, attempts, next_attempt_at,
  window_start_at, lease_owner, confirmation_nonce, last_error, last_status, delivered_at, created_at, updated_at, held_at, endpoint_key)
  SELECT id, tenancy_id, topic_id, subscription_id, message_id, kind, protocol, state, attempts, next_attempt_at,
  window_start_at, lease_owner, confirmation_nonce, last_error, last_status, delivered_at, created_at, updated_at, held_at, endpoint_key
  FROM deliveries;
-- Ids are never reused, not even those of pruned deliveries.
INSERT INTO sqlite_sequence (name, seq)
  SELECT 'deliveries_v14', seq FROM sqlite_sequence WHERE name = 'deliveries' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'deliveries_v14');
UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'deliveries'), 0)) WHERE name = 'deliveries_v14';

CREATE TABLE delivery_attempts_v14 (
  delivery_id      INTEGER NOT NULL REFERENCES deliveries_v14 (id) ON DELETE CASCADE,
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
INSERT INTO delivery_attempts_v14 SELECT * FROM delivery_attempts;

DROP TABLE delivery_attempts;
DROP TABLE deliveries;
-- Renaming also rewrites delivery_attempts_v14's foreign key to name deliveries.
ALTER TABLE deliveries_v14 RENAME TO deliveries;
ALTER TABLE delivery_attempts_v14 RENAME TO delivery_attempts;

-- The partial indexes' WHERE stays as the queries spell it (DUE in delivery-sql.ts), or the planner would not use them.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state IN ('PENDING', 'IN_FLIGHT');
CREATE UNIQUE INDEX deliveries_message ON deliveries (message_id, subscription_id) WHERE kind = 'MESSAGE';
CREATE INDEX deliveries_dead_subscription ON deliveries (tenancy_id, subscription_id, updated_at, id) WHERE state = 'DEAD';
CREATE INDEX deliveries_dead_topic ON deliveries (tenancy_id, topic_id, updated_at, id) WHERE state = 'DEAD';
CREATE INDEX deliveries_confirmation_age ON deliveries (created_at) WHERE kind = 'CONFIRMATION';
CREATE INDEX deliveries_held ON deliveries (subscription_id, id) WHERE state = 'HELD';
