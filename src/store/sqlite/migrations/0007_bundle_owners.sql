-- Bundles belong to the tenancies that uploaded them. The bytes stay stored once per digest in
-- function_bundles; a tenancy may name a digest in a function only when it has a row here, so
-- learning another tenancy's digest is not enough to run its code.
CREATE TABLE function_bundle_owners (
  tenancy_id TEXT NOT NULL REFERENCES tenancies (id),
  digest     TEXT NOT NULL REFERENCES function_bundles (digest),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenancy_id, digest)
) STRICT;

-- Existing deployments keep working: each function's tenancy owns the bundle it names (deleted
-- functions included, so a tenancy can deploy its old bundle again).
INSERT INTO function_bundle_owners (tenancy_id, digest, created_at)
SELECT f.tenancy_id, f.image_digest, MIN(f.created_at)
FROM functions f JOIN function_bundles b ON b.digest = f.image_digest
GROUP BY f.tenancy_id, f.image_digest;
