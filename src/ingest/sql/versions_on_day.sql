-- The version in force on day $2 (default today) of plan $1, or (with $1 null) of every plan whose
-- version in force that day follows the city's rules; with the plan's row locked: versions of one
-- plan are numbered one at a time.
SELECT p.id AS plan_id, p.name AS plan, v.id AS version_id, v.rule_set_id, v.geometry_version_id,
       v.rules_from, v.report
FROM plan p
JOIN versions_in_force(COALESCE($2::date, city_today())) f ON f.plan_id = p.id
JOIN plan_version v ON v.id = f.version_id
WHERE p.name = $1 OR ($1::text IS NULL AND v.rules_from = 'city')
ORDER BY p.name
FOR UPDATE OF p
