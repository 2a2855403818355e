-- The reports in one tile ($1 z, $2 x, $3 y) as a vector tile layer `reports`. From zoom 14 every
-- report is a pin (id, service, status, day received); below, pins are counted in cells of 64 x 64
-- tile units (`count`), so a city-wide tile stays small. $4: staff (hidden reports, kecamatan and
-- overdue too). No contact detail is in the table this reads.
WITH b AS (SELECT ST_TileEnvelope($1, $2, $3) AS env),
hits AS (
    SELECT r.id, r.service_code, r.status, r.kecamatan, r.due_on < $5 AS overdue,
           to_char(r.requested_at AT TIME ZONE 'Asia/Makassar', 'YYYY-MM-DD') AS day,
           ST_AsMVTGeom(ST_Transform(r.geom, 3857), b.env, 4096, 64, true) AS geom
    FROM report r, b
    WHERE ST_Transform(r.geom, 3857) && ST_Expand(b.env, (ST_XMax(b.env) - ST_XMin(b.env)) / 64)
      AND ($4 OR r.status <> 'hidden')
),
pins AS (
    SELECT id, service_code, status, day,
           CASE WHEN $4 THEN kecamatan END AS kecamatan,
           CASE WHEN $4 THEN overdue END AS overdue, geom
    FROM hits WHERE $1 >= 14 AND geom IS NOT NULL
),
cells AS (
    SELECT min(id) AS id, count(*)::int AS count,
           ST_Centroid(ST_Collect(geom)) AS geom
    FROM hits WHERE $1 < 14 AND geom IS NOT NULL
    GROUP BY floor(ST_X(geom) / 64), floor(ST_Y(geom) / 64)
)
SELECT (SELECT ST_AsMVT(pins, 'reports', 4096, 'geom', 'id') FROM pins)
    || (SELECT ST_AsMVT(cells, 'reports', 4096, 'geom', 'id') FROM cells) AS tile
