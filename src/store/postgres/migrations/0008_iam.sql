-- Herald schema v8 (PostgreSQL): IAM users, groups, memberships and policies, and etags and tags
-- on users and compartments. Deleted IAM rows stay in state DELETED (the SDK's waiters read them
-- back); partial unique indexes free their names.

-- Lists sort by name; byte order keeps paging identical to SQLite whatever the database's locale.
ALTER TABLE users ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE users
  ADD COLUMN description     TEXT NOT NULL DEFAULT '',
  ADD COLUMN email           TEXT,
  ADD COLUMN lifecycle_state TEXT COLLATE "C" NOT NULL DEFAULT 'ACTIVE',
  ADD COLUMN etag            TEXT NOT NULL DEFAULT '00000000',
  ADD COLUMN freeform_tags   TEXT NOT NULL DEFAULT '{}',
  ADD COLUMN defined_tags    TEXT NOT NULL DEFAULT '{}';
-- The constant default only fills the column; existing rows get an etag of their own.
UPDATE users SET etag = substr(md5(random()::text || id), 1, 8);
CREATE UNIQUE INDEX users_live_name ON users (tenancy_id, name) WHERE lifecycle_state <> 'DELETED';

ALTER TABLE compartments
  ADD COLUMN etag          TEXT NOT NULL DEFAULT '00000000',
  ADD COLUMN freeform_tags TEXT NOT NULL DEFAULT '{}',
  ADD COLUMN defined_tags  TEXT NOT NULL DEFAULT '{}';
UPDATE compartments SET etag = substr(md5(random()::text || id), 1, 8);

-- Not "groups": GROUPS is an SQL keyword (window frames) in both backends.
CREATE TABLE iam_groups (
  id              TEXT COLLATE "C" PRIMARY KEY,
  tenancy_id      TEXT COLLATE "C" NOT NULL REFERENCES tenancies (id),
  name            TEXT COLLATE "C" NOT NULL,
  description     TEXT NOT NULL,
  lifecycle_state TEXT COLLATE "C" NOT NULL,
  etag            TEXT NOT NULL,
  freeform_tags   TEXT NOT NULL,
  defined_tags    TEXT NOT NULL,
  created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX iam_groups_live_name ON iam_groups (tenancy_id, name) WHERE lifecycle_state <> 'DELETED';
CREATE INDEX iam_groups_tenancy ON iam_groups (tenancy_id, created_at);

CREATE TABLE user_group_memberships (
  id              TEXT COLLATE "C" PRIMARY KEY,
  tenancy_id      TEXT COLLATE "C" NOT NULL REFERENCES tenancies (id),
  user_id         TEXT COLLATE "C" NOT NULL REFERENCES users (id),
  group_id        TEXT COLLATE "C" NOT NULL REFERENCES iam_groups (id),
  lifecycle_state TEXT COLLATE "C" NOT NULL,
  created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX user_group_memberships_live ON user_group_memberships (user_id, group_id) WHERE lifecycle_state <> 'DELETED';
-- The user index also serves tenancy-wide reads (the access snapshot, unfiltered lists).
CREATE INDEX user_group_memberships_user ON user_group_memberships (tenancy_id, user_id, created_at);
CREATE INDEX user_group_memberships_group ON user_group_memberships (tenancy_id, group_id, created_at);

-- statements is a JSON array of policy statement strings (TEXT, like tags, so it round-trips as written).
CREATE TABLE policies (
  id              TEXT COLLATE "C" PRIMARY KEY,
  tenancy_id      TEXT COLLATE "C" NOT NULL REFERENCES tenancies (id),
  compartment_id  TEXT COLLATE "C" NOT NULL REFERENCES compartments (id),
  name            TEXT COLLATE "C" NOT NULL,
  description     TEXT NOT NULL,
  statements      TEXT NOT NULL,
  version_date    TEXT,
  lifecycle_state TEXT COLLATE "C" NOT NULL,
  etag            TEXT NOT NULL,
  freeform_tags   TEXT NOT NULL,
  defined_tags    TEXT NOT NULL,
  created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX policies_live_name ON policies (tenancy_id, name) WHERE lifecycle_state <> 'DELETED';
CREATE INDEX policies_compartment ON policies (tenancy_id, compartment_id);

-- A compartment delete checks for live functions in it; without this it would scan every function.
CREATE INDEX functions_compartment ON functions (tenancy_id, compartment_id);
