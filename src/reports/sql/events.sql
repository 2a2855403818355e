-- A report's transitions, oldest first ($2: staff, who see every note and who made it; the
-- public sees every transition but a hiding, a return from one without where from, and only
-- the public notes).
SELECT to_char(e.at AT TIME ZONE 'Asia/Makassar', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"') AS at,
       CASE WHEN $2 OR e.from_status <> 'hidden' THEN e.from_status END AS from_status,
       e.to_status AS status,
       CASE WHEN e.public OR $2 THEN e.note END AS note, e.public,
       CASE WHEN $2 THEN e.actor END AS actor
FROM report_event e
WHERE e.report_id = $1
  AND ($2 OR e.to_status <> 'hidden')
ORDER BY e.id
