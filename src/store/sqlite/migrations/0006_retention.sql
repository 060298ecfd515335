-- Retention: prune messages oldest first, and the other rows that only grow, by age.
CREATE INDEX messages_published ON messages (published_at, id);
-- Confirmation sends are few: a small partial index finds the old ones without scanning deliveries.
CREATE INDEX deliveries_confirmation_age ON deliveries (created_at) WHERE kind = 'CONFIRMATION';
CREATE INDEX retry_tokens_created ON retry_tokens (created_at);
