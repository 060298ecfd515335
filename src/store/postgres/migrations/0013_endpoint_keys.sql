-- Each subscription's endpoint as one node's delivery limits count it (endpointKeyOf in src/core/endpoints.ts),
-- copied onto its deliveries at fan-out, so a claim can leave out a full endpoint's deliveries whatever
-- subscription they belong to. Rows from before this migration get the same key computed here for the usual
-- URL shapes; a URL this spells differently from URL.origin only loses the exclusion (its deliveries are
-- claimed and wait in memory, as they did before). Confirmations carry no key and are never left out.
ALTER TABLE subscriptions ADD COLUMN endpoint_key TEXT;
ALTER TABLE deliveries ADD COLUMN endpoint_key TEXT;

UPDATE subscriptions SET endpoint_key = CASE
  WHEN protocol IN ('EMAIL', 'SMS') THEN protocol
  WHEN protocol = 'ORACLE_FUNCTIONS' THEN 'ORACLE_FUNCTIONS:' || endpoint
  ELSE protocol || ':' || lower(regexp_replace(endpoint, '^([A-Za-z][A-Za-z0-9+.-]*://)(?:[^/?#@]*@)?([^/?#]*).*$', '\1\2'))
END;

UPDATE deliveries d SET endpoint_key = s.endpoint_key FROM subscriptions s
WHERE s.id = d.subscription_id AND d.state IN ('PENDING', 'IN_FLIGHT', 'HELD') AND d.kind = 'MESSAGE';
