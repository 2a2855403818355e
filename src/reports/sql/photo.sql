-- A photo of a report ($3: the thumbnail), if the caller may see it ($4: staff; the public sees
-- the photos of reports staff verified and did not reject, mark duplicate or hide).
SELECT CASE WHEN $3 THEN p.thumbnail ELSE p.jpeg END AS jpeg, encode(p.sha256, 'hex') AS sha256
FROM report_photo p JOIN report r ON r.id = p.report_id
WHERE p.report_id = $1 AND p.n = $2
  AND ($4 OR r.status IN ('verified', 'in_progress', 'resolved'))
