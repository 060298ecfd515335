-- The W3C traceparent of a message's publish span, so its fan-out and deliveries, made later and
-- possibly on another node, continue the publisher's trace. NULL when tracing was off at publish.
ALTER TABLE messages ADD COLUMN trace_parent TEXT;
