-- A topic's recent messages (console): newest first, and counts since a time.
CREATE INDEX messages_topic_recent ON messages (topic_id, published_at, id);
