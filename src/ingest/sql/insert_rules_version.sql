-- A new version of a plan that changes only the rules: rule set $2 (got as $6 says) on the zoning
-- rows of version $1 (not copied), effective from $4 (default: Balikpapan's today), with report $3
-- and policies $5.
INSERT INTO plan_version (plan_id, version, source_file, source_sha256, source_layer, source_crs,
                          feature_count, area_m2, report, rule_set_id, effective_from,
                          geometry_version_id, policies, rules_from, regulation)
SELECT g.plan_id, (SELECT MAX(version) FROM plan_version WHERE plan_id = g.plan_id) + 1,
       g.source_file, g.source_sha256, g.source_layer, g.source_crs, g.feature_count, g.area_m2,
       $3, $2, COALESCE($4::date, city_today()), g.geometry_version_id, $5, $6, g.regulation
FROM plan_version g
WHERE g.id = $1
RETURNING id, version
