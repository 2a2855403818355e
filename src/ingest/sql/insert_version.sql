-- A new version of plan $1 with its own zoning rows (geometry_version_id is its own id), rule set
-- $8 (got as $11 says), effective from $10 (default: Balikpapan's today). The plan's row is locked
-- by the caller: versions of one plan are numbered one at a time. The regulation is the plan's
-- previous version's until the caller names another.
WITH new AS (SELECT nextval(pg_get_serial_sequence('plan_version', 'id')) AS id)
INSERT INTO plan_version (id, plan_id, version, source_file, source_sha256, source_layer, source_crs,
                          feature_count, area_m2, report, rule_set_id, effective_from,
                          geometry_version_id, policies, rules_from, regulation)
SELECT new.id, $1, COALESCE((SELECT MAX(version) FROM plan_version WHERE plan_id = $1), 0) + 1,
       $2, $3, $4, $5, $6, 0, $7, $8, COALESCE($10::date, city_today()), new.id, $9, $11,
       (SELECT regulation FROM plan_version WHERE plan_id = $1 ORDER BY version DESC LIMIT 1)
FROM new
RETURNING id, version
