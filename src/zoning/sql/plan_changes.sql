-- Where the zoning rows $2 (after) differ from the rows $1 (before): the intersections of zones
-- whose sub-zone differs, or whose sub-zone's rules differ ($3: codes whose rules changed); the
-- parts of before-zones no after-zone covers; the parts of after-zones no before-zone covers.
-- Zones with an equal zone on the other side are skipped for the last two. Pieces of $4 m² or
-- less are left out; at most $5 rows.
WITH a AS (SELECT id, subzone_code, geom FROM zoning_feature WHERE version_id = $1),
b AS (SELECT id, subzone_code, geom FROM zoning_feature WHERE version_id = $2),
pieces AS (
    SELECT a.id AS before_id, a.subzone_code AS before_code, b.id AS after_id,
           b.subzone_code AS after_code,
           ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3) AS g
    FROM a JOIN b ON a.geom && b.geom
    WHERE (a.subzone_code <> b.subzone_code OR a.subzone_code = ANY($3))
      AND ST_Relate(a.geom, b.geom, '2********')
    UNION ALL
    SELECT a.id, a.subzone_code, NULL, NULL,
           ST_CollectionExtract(ST_Difference(a.geom, COALESCE(
               (SELECT ST_Union(b.geom) FROM b WHERE b.geom && a.geom),
               'SRID=4326;GEOMETRYCOLLECTION EMPTY'::geometry)), 3)
    FROM a
    WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.geom ~= a.geom AND ST_Equals(b.geom, a.geom))
    UNION ALL
    SELECT NULL, NULL, b.id, b.subzone_code,
           ST_CollectionExtract(ST_Difference(b.geom, COALESCE(
               (SELECT ST_Union(a.geom) FROM a WHERE a.geom && b.geom),
               'SRID=4326;GEOMETRYCOLLECTION EMPTY'::geometry)), 3)
    FROM b
    WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.geom ~= b.geom AND ST_Equals(a.geom, b.geom))
),
measured AS (
    SELECT before_id, before_code, after_id, after_code, g, ST_Area(g::geography) AS area_m2
    FROM pieces
    WHERE NOT ST_IsEmpty(g)
)
SELECT before_id, before_code, after_id, after_code, area_m2, ST_AsGeoJSON(g, 7) AS geometry
FROM measured
WHERE area_m2 > $4
ORDER BY area_m2 DESC
LIMIT $5
