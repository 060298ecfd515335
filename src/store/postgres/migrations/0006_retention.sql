-- Retention: prune messages oldest first, and the other rows that only grow, by age.
CREATE INDEX messages_published ON messages (published_at, id);
-- Confirmation sends are few: a small partial index finds the old ones without scanning deliveries.
CREATE INDEX deliveries_confirmation_age ON deliveries (created_at) WHERE kind = 'CONFIRMATION';
CREATE INDEX retry_tokens_created ON retry_tokens (created_at);
-- Pruning deletes steadily; vacuum the hot tables after 5 % dead rows instead of 20 %, so
-- their space is reused for new rows before the tables grow.
ALTER TABLE messages SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE deliveries SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE delivery_attempts SET (autovacuum_vacuum_scale_factor = 0.05);
