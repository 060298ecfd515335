-- Herald schema v3 (SQLite): OCI Functions applications, functions, bundles and call records.
-- config, subnet_ids and tags are JSON text so they round-trip with their key order intact.

CREATE TABLE applications (
  id              TEXT PRIMARY KEY,
  tenancy_id      TEXT NOT NULL REFERENCES tenancies (id),
  compartment_id  TEXT NOT NULL REFERENCES compartments (id),
  display_name    TEXT NOT NULL,
  lifecycle_state TEXT NOT NULL,
  config          TEXT NOT NULL,
  subnet_ids      TEXT NOT NULL,
  freeform_tags   TEXT NOT NULL,
  defined_tags    TEXT NOT NULL,
  etag            TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) STRICT;
-- A name is free again once its application is DELETED; deleted rows stay for history.
CREATE UNIQUE INDEX applications_live_name ON applications (tenancy_id, compartment_id, display_name) WHERE lifecycle_state <> 'DELETED';
CREATE INDEX applications_compartment ON applications (tenancy_id, compartment_id, created_at);

CREATE TABLE functions (
  id                 TEXT PRIMARY KEY,
  tenancy_id         TEXT NOT NULL REFERENCES tenancies (id),
  compartment_id     TEXT NOT NULL REFERENCES compartments (id),
  application_id     TEXT NOT NULL REFERENCES applications (id),
  display_name       TEXT NOT NULL,
  image              TEXT NOT NULL,
  image_digest       TEXT NOT NULL,
  memory_in_mbs      INTEGER NOT NULL,
  timeout_in_seconds INTEGER NOT NULL,
  config             TEXT NOT NULL,
  lifecycle_state    TEXT NOT NULL,
  freeform_tags      TEXT NOT NULL,
  defined_tags       TEXT NOT NULL,
  etag               TEXT NOT NULL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX functions_live_name ON functions (application_id, display_name) WHERE lifecycle_state <> 'DELETED';
CREATE INDEX functions_application ON functions (application_id, created_at);

-- Content-addressed (digest = 'sha256:<hex>' of the bytes), so any node can run any function
-- and re-uploading the same bundle is free. Bundles are shared across tenancies: the digest is the name.
CREATE TABLE function_bundles (
  digest     TEXT PRIMARY KEY,
  bytes      BLOB NOT NULL,
  size       INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

-- The newest calls per function, for `herald fn logs`; older ones are pruned on insert.
CREATE TABLE function_calls (
  function_id TEXT NOT NULL,
  call_id     TEXT NOT NULL,
  started_at  INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  status      TEXT NOT NULL,
  logs        TEXT NOT NULL,
  PRIMARY KEY (function_id, call_id)
) STRICT;
CREATE INDEX function_calls_recent ON function_calls (function_id, started_at DESC);
