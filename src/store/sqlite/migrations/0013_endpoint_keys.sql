-- Each subscription's endpoint as one node's delivery limits count it (endpointKeyOf in src/core/endpoints.ts),
-- copied onto its deliveries at fan-out, so a claim can leave out a full endpoint's deliveries whatever
-- subscription they belong to. Rows from before this migration get the same key computed here for the usual
-- URL shapes (scheme://[user@]host[:port][/...][?...]); a URL this spells differently from URL.origin only
-- loses the exclusion (its deliveries are claimed and wait in memory, as they did before). Confirmations carry no
-- key and are never left out.
ALTER TABLE subscriptions ADD COLUMN endpoint_key TEXT;
ALTER TABLE deliveries ADD COLUMN endpoint_key TEXT;

UPDATE subscriptions SET endpoint_key = CASE protocol
  WHEN 'EMAIL' THEN 'EMAIL'
  WHEN 'SMS' THEN 'SMS'
  WHEN 'ORACLE_FUNCTIONS' THEN 'ORACLE_FUNCTIONS:' || endpoint
END
WHERE protocol IN ('EMAIL', 'SMS', 'ORACLE_FUNCTIONS');

UPDATE subscriptions SET endpoint_key = k.key FROM (
  SELECT id, protocol || ':' || lower(scheme) || '://' || lower(CASE WHEN instr(auth, '@') > 0 THEN substr(auth, instr(auth, '@') + 1) ELSE auth END) AS key
  FROM (
    SELECT id, protocol, scheme, CASE WHEN instr(auth0, '?') > 0 THEN substr(auth0, 1, instr(auth0, '?') - 1) ELSE auth0 END AS auth
    FROM (
      SELECT id, protocol, substr(endpoint, 1, instr(endpoint, '://') - 1) AS scheme,
             CASE WHEN instr(rest, '/') > 0 THEN substr(rest, 1, instr(rest, '/') - 1) ELSE rest END AS auth0
      FROM (SELECT id, protocol, endpoint, substr(endpoint, instr(endpoint, '://') + 3) AS rest FROM subscriptions
            WHERE protocol IN ('HTTPS', 'CUSTOM_HTTPS', 'SLACK', 'PAGERDUTY') AND instr(endpoint, '://') > 0)
    )
  )
) AS k WHERE subscriptions.id = k.id;

UPDATE deliveries SET endpoint_key = (SELECT s.endpoint_key FROM subscriptions s WHERE s.id = deliveries.subscription_id)
WHERE state IN ('PENDING', 'IN_FLIGHT', 'HELD') AND kind = 'MESSAGE';
