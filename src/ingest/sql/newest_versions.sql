-- The newest version of each plan (or of plan $1), with the plan's row locked: versions of one
-- plan are numbered one at a time.
SELECT p.id AS plan_id, p.name AS plan, v.id AS version_id, v.rule_set_id, v.geometry_version_id,
       v.report
FROM plan p
JOIN LATERAL (SELECT * FROM plan_version WHERE plan_id = p.id ORDER BY version DESC LIMIT 1) v ON true
WHERE $1::text IS NULL OR p.name = $1
ORDER BY p.name
FOR UPDATE OF p
