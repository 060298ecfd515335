-- Herald schema v1 (PostgreSQL). Timestamps are epoch milliseconds (BIGINT).
-- Identifier and state columns use COLLATE "C" so ORDER BY (paging tie-breaks)
-- is byte order, exactly as in SQLite, whatever the database's locale.

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE tenancies (
  id         TEXT COLLATE "C" PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE users (
  id         TEXT COLLATE "C" PRIMARY KEY,
  tenancy_id TEXT COLLATE "C" NOT NULL REFERENCES tenancies (id),
  name       TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX users_tenancy ON users (tenancy_id);

CREATE TABLE api_keys (
  tenancy_id     TEXT COLLATE "C" NOT NULL,
  user_id        TEXT COLLATE "C" NOT NULL REFERENCES users (id),
  fingerprint    TEXT COLLATE "C" NOT NULL,
  public_key_pem TEXT NOT NULL,
  created_at     BIGINT NOT NULL,
  PRIMARY KEY (tenancy_id, user_id, fingerprint)
);

-- The root compartment is the tenancy itself: id = tenancy id, parent_id NULL.
CREATE TABLE compartments (
  id              TEXT COLLATE "C" PRIMARY KEY,
  tenancy_id      TEXT COLLATE "C" NOT NULL REFERENCES tenancies (id),
  parent_id       TEXT COLLATE "C" REFERENCES compartments (id),
  name            TEXT NOT NULL,
  description     TEXT NOT NULL,
  lifecycle_state TEXT COLLATE "C" NOT NULL,
  created_at      BIGINT NOT NULL
);
CREATE INDEX compartments_parent ON compartments (tenancy_id, parent_id);

-- Tags are JSON text (not JSONB) so they round-trip with their key order intact,
-- the same as in SQLite.
CREATE TABLE topics (
  id              TEXT COLLATE "C" PRIMARY KEY,
  tenancy_id      TEXT COLLATE "C" NOT NULL REFERENCES tenancies (id),
  compartment_id  TEXT COLLATE "C" NOT NULL REFERENCES compartments (id),
  name            TEXT COLLATE "C" NOT NULL,
  short_id        TEXT NOT NULL,
  description     TEXT,
  freeform_tags   TEXT NOT NULL,
  defined_tags    TEXT NOT NULL,
  lifecycle_state TEXT COLLATE "C" NOT NULL,
  etag            TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
-- A name is free again once its topic is DELETED; deleted rows stay for history.
CREATE UNIQUE INDEX topics_live_name ON topics (tenancy_id, name) WHERE lifecycle_state <> 'DELETED';
CREATE INDEX topics_compartment ON topics (tenancy_id, compartment_id, created_at);

CREATE TABLE subscriptions (
  id                      TEXT COLLATE "C" PRIMARY KEY,
  tenancy_id              TEXT COLLATE "C" NOT NULL REFERENCES tenancies (id),
  compartment_id          TEXT COLLATE "C" NOT NULL REFERENCES compartments (id),
  topic_id                TEXT COLLATE "C" NOT NULL REFERENCES topics (id),
  protocol                TEXT NOT NULL,
  endpoint                TEXT NOT NULL,
  metadata                TEXT,
  lifecycle_state         TEXT COLLATE "C" NOT NULL,
  etag                    TEXT NOT NULL,
  created_at              BIGINT NOT NULL,
  updated_at              BIGINT NOT NULL,
  max_retry_duration_ms   BIGINT NOT NULL,
  freeform_tags           TEXT NOT NULL,
  defined_tags            TEXT NOT NULL,
  confirmation_token_hash TEXT,
  confirmation_expires_at BIGINT,
  confirmation_nonce      INTEGER NOT NULL,
  unsubscribe_token_hash  TEXT NOT NULL,
  activated_at            BIGINT,
  deleted_at              BIGINT
);
CREATE INDEX subscriptions_topic ON subscriptions (topic_id);
CREATE INDEX subscriptions_compartment ON subscriptions (tenancy_id, compartment_id);

-- No foreign keys here: publishing is the hot path, and a foreign key would take a
-- share lock on the topic row per insert. Topics are never hard-deleted.
-- fanout_state 0 = not yet fanned out to deliveries; the delivery engine drains that index.
CREATE TABLE messages (
  id           TEXT COLLATE "C" PRIMARY KEY,
  tenancy_id   TEXT COLLATE "C" NOT NULL,
  topic_id     TEXT COLLATE "C" NOT NULL,
  title        TEXT,
  body         TEXT NOT NULL,
  message_type TEXT NOT NULL,
  published_at BIGINT NOT NULL,
  fanout_state SMALLINT NOT NULL DEFAULT 0
);
CREATE INDEX messages_pending_fanout ON messages (published_at) WHERE fanout_state = 0;

CREATE TABLE retry_tokens (
  tenancy_id   TEXT COLLATE "C" NOT NULL,
  token        TEXT COLLATE "C" NOT NULL,
  operation    TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  response     TEXT,
  created_at   BIGINT NOT NULL,
  PRIMARY KEY (tenancy_id, token)
);
