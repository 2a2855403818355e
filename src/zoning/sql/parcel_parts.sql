-- Parcel $1 (WKB, EPSG:4326) measured against every published zone in one statement:
--   a 'parcel' row: PostGIS's reason when the polygon is invalid, else its geodesic area (m²);
--   a 'part' row per zone it falls in: the zone's id, sub-zone, block, plan version and the part's
--   geodesic area;
--   an 'outside' row: the area outside every published zone.
WITH checked AS (
    SELECT g, ST_IsValid(g) AS valid
    FROM (SELECT ST_SetSRID(ST_GeomFromWKB($1), 4326) AS g) AS parcel
),
parts AS (
    SELECT f.id, f.subzone_code, f.block, f.version_id,
           ST_CollectionExtract(ST_Intersection(f.geom, c.g), 3) AS g
    FROM published_zoning f, checked c
    WHERE c.valid AND ST_Intersects(f.geom, c.g)
)
SELECT 'parcel' AS kind,
       CASE WHEN c.valid THEN NULL ELSE ST_IsValidReason(c.g) END AS reason,
       NULL::bigint AS id, NULL::text AS subzone_code, NULL::text AS block, NULL::bigint AS version_id,
       CASE WHEN c.valid THEN ST_Area(c.g::geography) ELSE 0 END AS area_m2
FROM checked c
UNION ALL
SELECT 'part', NULL, parts.id, parts.subzone_code, parts.block, parts.version_id, ST_Area(parts.g::geography)
FROM parts
WHERE NOT ST_IsEmpty(parts.g)
UNION ALL
SELECT 'outside', NULL, NULL, NULL, NULL, NULL,
       ST_Area(ST_Difference(c.g, COALESCE((SELECT ST_Union(g) FROM parts),
                                           'SRID=4326;GEOMETRYCOLLECTION EMPTY'::geometry))::geography)
FROM checked c
WHERE c.valid
