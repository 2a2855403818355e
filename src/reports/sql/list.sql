-- Reports as the public (hidden ones left out, no plan) or staff see them, filtered; the newest
-- first. Contact details are in another table and never read here.
--   $1 ids, $2 service codes, $3 from, $4 until, $5 statuses, $6 kecamatan, $7 overdue only,
--   $8 today (Balikpapan), $9 staff, $10 bbox [w, s, e, n], $11 limit, $12 offset, $13 export
SELECT r.id, r.service_code, r.description, r.address,
       ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat, r.status, r.status_notes, r.kecamatan, r.kelurahan,
       to_char(r.requested_at AT TIME ZONE 'Asia/Makassar', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"') AS requested_at,
       to_char(r.updated_at AT TIME ZONE 'Asia/Makassar', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"') AS updated_at,
       r.due_kind, to_char(r.due_on, 'YYYY-MM-DD') AS due_on, r.due_on < $8 AS overdue,
       CASE WHEN $9 OR r.status IN ('verified', 'in_progress', 'resolved') THEN r.photos ELSE 0::smallint END AS photos,
       r.followers, r.duplicate_of,
       -- $13: only what an export prints of the plan (the sub-zone, the version, why none).
       CASE WHEN $9 AND NOT $13 THEN r.plan
            WHEN $9 THEN jsonb_build_object(
                'subzone', jsonb_build_object('code', r.plan -> 'subzone' -> 'code',
                                              'name', r.plan -> 'subzone' -> 'name'),
                'plan', jsonb_build_object('plan', r.plan -> 'plan' -> 'plan',
                                           'version', r.plan -> 'plan' -> 'version'),
                'message', r.plan -> 'message')
       END AS plan,
       CASE WHEN $9 THEN r.attributes END AS attributes,
       CASE WHEN $9 THEN r.source END AS source,
       CASE WHEN $9 THEN EXISTS (SELECT 1 FROM report_contact c WHERE c.report_id = r.id AND c.email IS NOT NULL) END AS contactable
FROM report r
WHERE ($1::bigint[] IS NULL OR r.id = ANY ($1))
  AND ($2::text[] IS NULL OR r.service_code = ANY ($2))
  AND ($3::timestamptz IS NULL OR r.requested_at >= $3)
  AND ($4::timestamptz IS NULL OR r.requested_at <= $4)
  AND ($5::text[] IS NULL OR r.status = ANY ($5))
  AND ($6::text IS NULL OR r.kecamatan = $6)
  AND (NOT $7 OR r.due_on < $8)
  AND ($9 OR r.status <> 'hidden')
  AND ($10::float8[] IS NULL OR r.geom && ST_MakeEnvelope($10[1], $10[2], $10[3], $10[4], 4326))
ORDER BY r.requested_at DESC, r.id DESC
LIMIT $11 OFFSET $12
