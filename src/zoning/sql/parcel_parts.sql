-- Parcel $1 (WKB, EPSG:4326) measured against the zoning rows $2 (geometry version ids) in one
-- statement:
--   a 'parcel' row: PostGIS's reason when the polygon is invalid, else its geodesic area (m²);
--   a 'part' row per zone it falls in: the zone's id, sub-zone, block, geometry version, the
--   part's geodesic area and its shape (WKB);
--   an 'outside' row: the area outside every zone.
WITH checked AS (
    SELECT g, ST_IsValid(g) AS valid
    FROM (SELECT ST_SetSRID(ST_GeomFromWKB($1), 4326) AS g) AS parcel
),
parts AS (
    SELECT f.id, f.subzone_code, f.block, f.version_id,
           ST_CollectionExtract(ST_Intersection(f.geom, c.g), 3) AS g
    FROM zoning_feature f, checked c
    WHERE c.valid AND f.version_id = ANY($2) AND ST_Intersects(f.geom, c.g)
)
SELECT 'parcel' AS kind,
       CASE WHEN c.valid THEN NULL ELSE ST_IsValidReason(c.g) END AS reason,
       NULL::bigint AS id, NULL::text AS subzone_code, NULL::text AS block, NULL::bigint AS version_id,
       CASE WHEN c.valid THEN ST_Area(c.g::geography) ELSE 0 END AS area_m2, NULL::bytea AS wkb
FROM checked c
UNION ALL
SELECT 'part', NULL, parts.id, parts.subzone_code, parts.block, parts.version_id,
       ST_Area(parts.g::geography), ST_AsBinary(parts.g)
FROM parts
WHERE NOT ST_IsEmpty(parts.g)
UNION ALL
SELECT 'outside', NULL, NULL, NULL, NULL, NULL,
       ST_Area(ST_Difference(c.g, COALESCE((SELECT ST_Union(g) FROM parts),
                                           'SRID=4326;GEOMETRYCOLLECTION EMPTY'::geometry))::geography),
       NULL
FROM checked c
WHERE c.valid
