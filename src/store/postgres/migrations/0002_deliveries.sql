-- Herald schema v2 (PostgreSQL): the delivery engine.
-- A message is fanned out in batches of subscriptions (by id, after fanout_cursor) by
-- whichever node holds its fan-out lease; each batch commits with its cursor.

-- Constant defaults: no table rewrite.
ALTER TABLE messages
  ADD COLUMN fanout_cursor      TEXT COLLATE "C",
  ADD COLUMN fanout_lease_until BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN fanout_lease_owner TEXT;

-- claimFanout takes the oldest unfinished messages: (published_at, id) lets it stop after `limit`.
DROP INDEX messages_pending_fanout;
CREATE INDEX messages_pending_fanout ON messages (published_at, id) WHERE fanout_state = 0;

-- Fan-out walks a topic's subscriptions in id order; (topic_id, id) replaces (topic_id).
DROP INDEX subscriptions_topic;
CREATE INDEX subscriptions_topic_id ON subscriptions (topic_id, id);

-- No foreign keys to messages/subscriptions: fan-out is a hot path and neither is hard-deleted.
CREATE TABLE deliveries (
  id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenancy_id         TEXT COLLATE "C" NOT NULL,
  topic_id           TEXT COLLATE "C" NOT NULL,
  subscription_id    TEXT COLLATE "C" NOT NULL,
  message_id         TEXT COLLATE "C",
  kind               TEXT COLLATE "C" NOT NULL CHECK (kind IN ('MESSAGE', 'CONFIRMATION')),
  protocol           TEXT NOT NULL,
  state              TEXT COLLATE "C" NOT NULL CHECK (state IN ('PENDING', 'IN_FLIGHT', 'DELIVERED', 'DEAD', 'CANCELLED')),
  attempts           INTEGER NOT NULL DEFAULT 0,
  next_attempt_at    BIGINT NOT NULL,
  window_start_at    BIGINT NOT NULL,
  lease_owner        TEXT,
  confirmation_nonce INTEGER,
  last_error         TEXT,
  last_status        TEXT,
  delivered_at       BIGINT,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL
);
-- The claim queue (claimed with FOR UPDATE SKIP LOCKED).
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state IN ('PENDING', 'IN_FLIGHT');
-- One MESSAGE delivery per (message, subscription): a fan-out batch re-run after a lease
-- takeover inserts nothing twice. Also the index for a message's deliveries (queries add
-- kind = 'MESSAGE'; CONFIRMATION deliveries have no message_id).
CREATE UNIQUE INDEX deliveries_message ON deliveries (message_id, subscription_id) WHERE kind = 'MESSAGE';
CREATE INDEX deliveries_dead_subscription ON deliveries (tenancy_id, subscription_id, updated_at, id) WHERE state = 'DEAD';
CREATE INDEX deliveries_dead_topic ON deliveries (tenancy_id, topic_id, updated_at, id) WHERE state = 'DEAD';

CREATE TABLE delivery_attempts (
  delivery_id      BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempt_no       INTEGER NOT NULL,
  started_at       BIGINT NOT NULL,
  duration_ms      INTEGER NOT NULL,
  outcome          TEXT NOT NULL,
  status_code      INTEGER,
  reply            TEXT,
  error            TEXT,
  response_excerpt TEXT,
  node             TEXT,
  PRIMARY KEY (delivery_id, attempt_no)
);

-- Deliveries ever DELIVERED, as counters (a COUNT over the ever-growing history would not be
-- cheap enough for a metrics scrape). Several rows so concurrent nodes do not contend on one.
CREATE TABLE delivery_stats (
  shard     INTEGER PRIMARY KEY,
  delivered BIGINT NOT NULL
);

-- Mail captured by the development mailbox instead of being sent.
CREATE TABLE mailbox (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  from_addr  TEXT NOT NULL,
  to_addr    TEXT NOT NULL,
  subject    TEXT NOT NULL,
  text       TEXT NOT NULL,
  headers    TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX mailbox_created ON mailbox (created_at);
