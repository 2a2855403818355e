-- The rule set of plan $1's version in force on day $2 (default today), and how it got it.
SELECT v.rule_set_id, v.rules_from
FROM plan p
JOIN versions_in_force(COALESCE($2::date, city_today())) f ON f.plan_id = p.id
JOIN plan_version v ON v.id = f.version_id
WHERE p.name = $1
