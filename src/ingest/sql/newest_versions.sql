-- The newest version of plan $1, or (with $1 null) of every plan whose newest version uses a rule
-- set that was the city's; with the plan's row locked: versions of one plan are numbered one at a
-- time.
SELECT p.id AS plan_id, p.name AS plan, v.id AS version_id, v.rule_set_id, v.geometry_version_id,
       v.report
FROM plan p
JOIN LATERAL (SELECT * FROM plan_version WHERE plan_id = p.id ORDER BY version DESC LIMIT 1) v ON true
JOIN rule_set r ON r.id = v.rule_set_id
WHERE p.name = $1 OR ($1::text IS NULL AND r.city_default_at IS NOT NULL)
ORDER BY p.name
FOR UPDATE OF p
