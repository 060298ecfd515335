-- Herald schema v12 (PostgreSQL): delivery control (filter policies, endpoint health, replay, rate limits).

-- A subscription's controls. filter_policy is the policy's JSON text; rate_limit is deliveries per second.
-- The health columns are written by the delivery engine's completion batches, never by replaceSubscription
-- (they are not among SUBSCRIPTION_COLUMNS), so an etag write cannot undo a failure count.
ALTER TABLE subscriptions
  ADD COLUMN filter_policy        TEXT,
  ADD COLUMN rate_limit           INTEGER,
  ADD COLUMN failing_since        BIGINT,
  ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN last_failure         TEXT,
  ADD COLUMN disabled_at          BIGINT;

-- FILTERED: final, the subscription's filter policy refused the message. HELD: the subscription is
-- disabled; kept, not attempted, its retry window paused since held_at.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_state_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_state_check
  CHECK (state IN ('PENDING', 'IN_FLIGHT', 'DELIVERED', 'DEAD', 'CANCELLED', 'FILTERED', 'HELD'));
ALTER TABLE deliveries ADD COLUMN held_at BIGINT;

-- A disabled subscription's held deliveries, released oldest first on enable. Only held rows: no cost on the hot path.
CREATE INDEX deliveries_held ON deliveries (subscription_id, id) WHERE state = 'HELD';
