-- Web console sign-in: users with scrypt password hashes, and sessions stored by the SHA-256 of their id.
CREATE TABLE console_users (
  username      TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  tenancy_id    TEXT NOT NULL,
  user_id       TEXT NOT NULL,
  created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE console_sessions (
  id_hash    TEXT PRIMARY KEY,
  username   TEXT NOT NULL REFERENCES console_users (username) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
