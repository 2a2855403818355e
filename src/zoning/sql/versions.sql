-- Every plan version with its plan's name, its dates, its rule set and whether it is in force
-- today (Balikpapan's day; see city_today()).
SELECT p.id AS plan_id, p.name AS plan, v.id AS version_id, v.version,
       to_char(v.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS published_at,
       v.effective_from::text AS effective_from,
       (LEAD(v.effective_from) OVER (PARTITION BY v.plan_id ORDER BY v.effective_from, v.version))::text
           AS in_force_until,
       v.rule_set_id, r.digest AS rule_digest, v.geometry_version_id,
       EXISTS (SELECT 1 FROM versions_in_force(city_today()) f WHERE f.version_id = v.id) AS in_force,
       p.published_version_id IS NOT DISTINCT FROM v.id AS published
FROM plan_version v
JOIN plan p ON p.id = v.plan_id
JOIN rule_set r ON r.id = v.rule_set_id
