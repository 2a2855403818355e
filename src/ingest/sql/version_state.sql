-- A version's effective date, and whether it is in force today.
SELECT effective_from::text AS effective_from,
       EXISTS (SELECT 1 FROM versions_in_force(city_today()) f WHERE f.version_id = $1) AS in_force
FROM plan_version WHERE id = $1
