-- Open reports of one service within $4 metres of a point, the nearest first, then the newest
-- (what a reporter is shown before filing the same one again).
WITH p AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS pt)
SELECT r.id, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat, r.status, r.description,
       to_char(r.requested_at AT TIME ZONE 'Asia/Makassar', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"') AS requested_at,
       r.followers, ST_Distance(r.geom::geography, p.pt::geography) AS distance_m
FROM report r, p
WHERE r.service_code = $3
  AND r.status IN ('submitted', 'verified', 'in_progress')
  AND r.geom && ST_Expand(p.pt, $4 / 100000.0)
  AND ST_DWithin(r.geom::geography, p.pt::geography, $4)
ORDER BY r.geom <-> p.pt, r.requested_at DESC
LIMIT 5
