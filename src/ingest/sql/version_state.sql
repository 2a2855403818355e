-- A version's effective date, whether it is in force today (and today), the first later date on
-- which a version of its plan published earlier supersedes it, and, for a version that follows the
-- city's rules, the first later date on which the city's rules change.
SELECT v.effective_from::text AS effective_from,
       city_today()::text AS today,
       EXISTS (SELECT 1 FROM versions_in_force(city_today()) f WHERE f.version_id = v.id) AS in_force,
       (SELECT min(w.effective_from)::text FROM plan_version w
        WHERE w.plan_id = v.plan_id AND w.id <> v.id AND w.effective_from > v.effective_from)
           AS superseded_from,
       CASE WHEN v.rules_from = 'city' THEN
           (SELECT min(c.effective_from)::text FROM city_rule_set c
            WHERE c.effective_from > v.effective_from AND c.rule_set_id <> v.rule_set_id)
       END AS city_rules_change
FROM plan_version v WHERE v.id = $1
