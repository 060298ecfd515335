-- Herald schema v3 (PostgreSQL): OCI Functions applications, functions, bundles and call records.
-- config, subnet_ids and tags are JSON text (not JSONB) so they round-trip with their key order intact.

CREATE TABLE applications (
  id              TEXT COLLATE "C" PRIMARY KEY,
  tenancy_id      TEXT COLLATE "C" NOT NULL REFERENCES tenancies (id),
  compartment_id  TEXT COLLATE "C" NOT NULL REFERENCES compartments (id),
  display_name    TEXT COLLATE "C" NOT NULL,
  lifecycle_state TEXT COLLATE "C" NOT NULL,
  config          TEXT NOT NULL,
  subnet_ids      TEXT NOT NULL,
  freeform_tags   TEXT NOT NULL,
  defined_tags    TEXT NOT NULL,
  etag            TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
-- A name is free again once its application is DELETED; deleted rows stay for history.
CREATE UNIQUE INDEX applications_live_name ON applications (tenancy_id, compartment_id, display_name) WHERE lifecycle_state <> 'DELETED';
CREATE INDEX applications_compartment ON applications (tenancy_id, compartment_id, created_at);

CREATE TABLE functions (
  id                 TEXT COLLATE "C" PRIMARY KEY,
  tenancy_id         TEXT COLLATE "C" NOT NULL REFERENCES tenancies (id),
  compartment_id     TEXT COLLATE "C" NOT NULL REFERENCES compartments (id),
  application_id     TEXT COLLATE "C" NOT NULL REFERENCES applications (id),
  display_name       TEXT COLLATE "C" NOT NULL,
  image              TEXT NOT NULL,
  image_digest       TEXT COLLATE "C" NOT NULL,
  memory_in_mbs      INTEGER NOT NULL,
  timeout_in_seconds INTEGER NOT NULL,
  config             TEXT NOT NULL,
  lifecycle_state    TEXT COLLATE "C" NOT NULL,
  freeform_tags      TEXT NOT NULL,
  defined_tags       TEXT NOT NULL,
  etag               TEXT NOT NULL,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX functions_live_name ON functions (application_id, display_name) WHERE lifecycle_state <> 'DELETED';
CREATE INDEX functions_application ON functions (application_id, created_at);

-- Content-addressed (digest = 'sha256:<hex>' of the bytes), so any node can run any function
-- and re-uploading the same bundle is free. Bundles are shared across tenancies: the digest is the name.
CREATE TABLE function_bundles (
  digest     TEXT COLLATE "C" PRIMARY KEY,
  bytes      BYTEA NOT NULL,
  size       BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);

-- The newest calls per function, for `herald fn logs`; older ones are pruned on insert.
CREATE TABLE function_calls (
  function_id TEXT COLLATE "C" NOT NULL,
  call_id     TEXT COLLATE "C" NOT NULL,
  started_at  BIGINT NOT NULL,
  duration_ms INTEGER NOT NULL,
  status      TEXT NOT NULL,
  logs        TEXT NOT NULL,
  PRIMARY KEY (function_id, call_id)
);
CREATE INDEX function_calls_recent ON function_calls (function_id, started_at DESC);
