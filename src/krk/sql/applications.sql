-- Applications: the one with id $1 (a UUID; all when null) with status $2 (any when null) whose
-- key has SHA-256 $4 (any when null), at most $3, each with its certificate's number once issued: the queue (submitted) oldest first, decided
-- ones newest first.
SELECT a.id::text AS id, a.status, a.applicant, a.building_function, a.activity,
       ST_AsGeoJSON(a.parcel, 8)::jsonb AS parcel, a.parcel_area_m2, a.draft,
       to_char(a.submitted_at AT TIME ZONE 'Asia/Makassar', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"') AS submitted_at,
       to_char(a.decided_at AT TIME ZONE 'Asia/Makassar', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"') AS decided_at,
       a.refusal_reason, c.number, c.revoked_at IS NOT NULL AS revoked
FROM krk_application a
LEFT JOIN krk_certificate c ON c.application_id = a.id
WHERE ($1::uuid IS NULL OR a.id = $1::uuid) AND ($2::text IS NULL OR a.status = $2)
  AND ($4::bytea IS NULL OR a.key_sha256 = $4)
ORDER BY CASE WHEN a.status = 'submitted' THEN a.submitted_at END ASC,
         COALESCE(a.decided_at, a.submitted_at) DESC
LIMIT $3
