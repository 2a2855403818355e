-- Every plan version (or only version $1), newest first within each plan, with its dates, its
-- rule set and whether it is in force today.
SELECT p.id AS plan_id, p.name AS plan, p.published_version_id, v.id AS version_id, v.version,
       to_char(v.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS published_at,
       v.effective_from::text AS effective_from,
       (LEAD(v.effective_from) OVER (PARTITION BY v.plan_id ORDER BY v.effective_from, v.version))::text
           AS in_force_until,
       EXISTS (SELECT 1 FROM versions_in_force(city_today()) f WHERE f.version_id = v.id) AS in_force,
       v.geometry_version_id, v.rule_set_id, r.digest AS rule_digest, r.source AS rule_source,
       v.policies, v.source_file, v.source_layer, v.source_crs, v.feature_count, v.area_m2, v.report
FROM plan p
JOIN plan_version v ON v.plan_id = p.id
JOIN rule_set r ON r.id = v.rule_set_id
WHERE $1::bigint IS NULL OR p.id IN (SELECT plan_id FROM plan_version WHERE id = $1)
ORDER BY p.name, v.version DESC
