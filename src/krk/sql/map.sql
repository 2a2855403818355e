-- The map of parcel $1 (WKB, EPSG:4326) in UTM zone 50S (EPSG:32750): a square frame around the
-- parcel with a margin, the zones of the plans in force inside it (clipped, simplified to 0.2 m)
-- with their sub-zone, its name and colour, the parcel itself, and the frame's corners in longitude and
-- latitude. Rows: 'frame' (x0, y0, x1, y1 and the corners as lon/lat in wkb-less columns),
-- 'parcel' and 'zone' (WKB in metres).
WITH parcel AS (
    SELECT ST_Transform(ST_SetSRID(ST_GeomFromWKB($1), 4326), 32750) AS m
),
box AS (
    SELECT (ST_XMin(m) + ST_XMax(m)) / 2 AS cx, (ST_YMin(m) + ST_YMax(m)) / 2 AS cy,
           GREATEST(ST_XMax(m) - ST_XMin(m), ST_YMax(m) - ST_YMin(m)) * 0.8 + 20 AS half
    FROM parcel
),
frame AS (
    SELECT ST_MakeEnvelope(cx - half, cy - half, cx + half, cy + half, 32750) AS m FROM box
),
zones AS (
    SELECT f.subzone_code, s.color, s.name,
           ST_SimplifyPreserveTopology(ST_Intersection(ST_Transform(f.geom, 32750), fr.m), 0.2) AS m
    FROM zoning_feature f
    JOIN versions_in_force(city_today()) v ON v.geometry_version_id = f.version_id
    LEFT JOIN rule_subzone s ON s.code = f.subzone_code AND s.rule_set_id = v.rule_set_id
    CROSS JOIN frame fr
    WHERE f.geom && ST_Transform(fr.m, 4326)
)
SELECT 'frame' AS kind, NULL::text AS subzone, NULL::text AS name, NULL::text AS color,
       NULL::bytea AS wkb,
       ST_XMin(fr.m) AS x0, ST_YMin(fr.m) AS y0, ST_XMax(fr.m) AS x1, ST_YMax(fr.m) AS y1,
       ST_X(ST_Transform(ST_SetSRID(ST_MakePoint(ST_XMin(fr.m), ST_YMin(fr.m)), 32750), 4326)) AS lon0,
       ST_Y(ST_Transform(ST_SetSRID(ST_MakePoint(ST_XMin(fr.m), ST_YMin(fr.m)), 32750), 4326)) AS lat0,
       ST_X(ST_Transform(ST_SetSRID(ST_MakePoint(ST_XMax(fr.m), ST_YMax(fr.m)), 32750), 4326)) AS lon1,
       ST_Y(ST_Transform(ST_SetSRID(ST_MakePoint(ST_XMax(fr.m), ST_YMax(fr.m)), 32750), 4326)) AS lat1
FROM frame fr
UNION ALL
SELECT 'parcel', NULL, NULL, NULL, ST_AsBinary(p.m), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM parcel p
UNION ALL
SELECT 'zone', z.subzone_code, z.name, z.color, ST_AsBinary(ST_CollectionExtract(z.m, 3)),
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM zones z
WHERE NOT ST_IsEmpty(ST_CollectionExtract(z.m, 3))
