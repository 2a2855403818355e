-- Every plan version with its plan's name and whether it is the plan's published version.
SELECT p.id AS plan_id, p.name AS plan, v.id AS version_id, v.version,
       to_char(v.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS published_at,
       p.published_version_id IS NOT DISTINCT FROM v.id AS published
FROM plan_version v
JOIN plan p ON p.id = v.plan_id
