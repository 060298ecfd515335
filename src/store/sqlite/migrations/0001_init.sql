-- Herald schema v1 (SQLite). Timestamps are epoch milliseconds.
-- STRICT tables make SQLite reject values of the wrong type instead of storing them.

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE tenancies (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
  id         TEXT PRIMARY KEY,
  tenancy_id TEXT NOT NULL REFERENCES tenancies (id),
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX users_tenancy ON users (tenancy_id);

CREATE TABLE api_keys (
  tenancy_id     TEXT NOT NULL,
  user_id        TEXT NOT NULL REFERENCES users (id),
  fingerprint    TEXT NOT NULL,
  public_key_pem TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (tenancy_id, user_id, fingerprint)
) STRICT;

-- The root compartment is the tenancy itself: id = tenancy id, parent_id NULL.
CREATE TABLE compartments (
  id              TEXT PRIMARY KEY,
  tenancy_id      TEXT NOT NULL REFERENCES tenancies (id),
  parent_id       TEXT REFERENCES compartments (id),
  name            TEXT NOT NULL,
  description     TEXT NOT NULL,
  lifecycle_state TEXT NOT NULL,
  created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX compartments_parent ON compartments (tenancy_id, parent_id);

-- Tags are JSON text in both backends so they round-trip with their key order intact.
CREATE TABLE topics (
  id              TEXT PRIMARY KEY,
  tenancy_id      TEXT NOT NULL REFERENCES tenancies (id),
  compartment_id  TEXT NOT NULL REFERENCES compartments (id),
  name            TEXT NOT NULL,
  short_id        TEXT NOT NULL,
  description     TEXT,
  freeform_tags   TEXT NOT NULL,
  defined_tags    TEXT NOT NULL,
  lifecycle_state TEXT NOT NULL,
  etag            TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) STRICT;
-- A name is free again once its topic is DELETED; deleted rows stay for history.
CREATE UNIQUE INDEX topics_live_name ON topics (tenancy_id, name) WHERE lifecycle_state <> 'DELETED';
CREATE INDEX topics_compartment ON topics (tenancy_id, compartment_id, created_at);

CREATE TABLE subscriptions (
  id                      TEXT PRIMARY KEY,
  tenancy_id              TEXT NOT NULL REFERENCES tenancies (id),
  compartment_id          TEXT NOT NULL REFERENCES compartments (id),
  topic_id                TEXT NOT NULL REFERENCES topics (id),
  protocol                TEXT NOT NULL,
  endpoint                TEXT NOT NULL,
  metadata                TEXT,
  lifecycle_state         TEXT NOT NULL,
  etag                    TEXT NOT NULL,
  created_at              INTEGER NOT NULL,
  updated_at              INTEGER NOT NULL,
  max_retry_duration_ms   INTEGER NOT NULL,
  freeform_tags           TEXT NOT NULL,
  defined_tags            TEXT NOT NULL,
  confirmation_token_hash TEXT,
  confirmation_expires_at INTEGER,
  confirmation_nonce      INTEGER NOT NULL,
  unsubscribe_token_hash  TEXT NOT NULL,
  activated_at            INTEGER,
  deleted_at              INTEGER
) STRICT;
CREATE INDEX subscriptions_topic ON subscriptions (topic_id);
CREATE INDEX subscriptions_compartment ON subscriptions (tenancy_id, compartment_id);

-- No foreign keys here: publishing is the hot path and topics are never hard-deleted.
-- fanout_state 0 = not yet fanned out to deliveries; the delivery engine drains that index.
CREATE TABLE messages (
  id           TEXT PRIMARY KEY,
  tenancy_id   TEXT NOT NULL,
  topic_id     TEXT NOT NULL,
  title        TEXT,
  body         TEXT NOT NULL,
  message_type TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  fanout_state INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX messages_pending_fanout ON messages (published_at) WHERE fanout_state = 0;

CREATE TABLE retry_tokens (
  tenancy_id   TEXT NOT NULL,
  token        TEXT NOT NULL,
  operation    TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  response     TEXT,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (tenancy_id, token)
) STRICT;
