-- Every plan version (or only version $1), newest first within each plan.
SELECT p.id AS plan_id, p.name AS plan, p.published_version_id, v.id AS version_id, v.version,
       to_char(v.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS published_at,
       v.source_file, v.source_layer, v.source_crs, v.feature_count, v.area_m2, v.report
FROM plan p
JOIN plan_version v ON v.plan_id = p.id
WHERE $1::bigint IS NULL OR v.id = $1
ORDER BY p.name, v.version DESC
