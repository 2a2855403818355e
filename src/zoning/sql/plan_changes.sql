-- Where the zoning rows $2 (after) differ from the rows $1 (before), when they are not the same
-- rows. Zones drawn identically in both ("twins") count where their sub-zone differs or its rules
-- changed ($3: codes whose rules changed); a zone redrawn counts where it overlaps a zone of the
-- other side with another sub-zone (or changed rules), and where no zone of the other side covers
-- it. Pieces of $4 m² or less are left out; at most $5 rows, largest first. With $6 (an envelope in
-- WGS 84), only the zones that reach into it.
-- The redrawn zones are set apart first (usually few), and every join starts from them and reaches
-- zoning_feature through its GiST index.
WITH twins AS MATERIALIZED (
    SELECT a.id AS a_id, b.id AS b_id, a.subzone_code AS a_code, b.subzone_code AS b_code
    FROM zoning_feature a
    JOIN zoning_feature b ON b.version_id = $2 AND b.geom ~= a.geom AND ST_Equals(b.geom, a.geom)
    WHERE a.version_id = $1 AND ($6::geometry IS NULL OR a.geom && $6::geometry)
),
a_new AS MATERIALIZED (
    SELECT a.id, a.subzone_code, a.geom
    FROM zoning_feature a
    WHERE a.version_id = $1 AND NOT EXISTS (SELECT 1 FROM twins t WHERE t.a_id = a.id)
      AND ($6::geometry IS NULL OR a.geom && $6::geometry)
),
b_new AS MATERIALIZED (
    SELECT b.id, b.subzone_code, b.geom
    FROM zoning_feature b
    WHERE b.version_id = $2 AND NOT EXISTS (SELECT 1 FROM twins t WHERE t.b_id = b.id)
      AND ($6::geometry IS NULL OR b.geom && $6::geometry)
),
pieces AS (
    SELECT t.a_id AS before_id, t.a_code AS before_code, t.b_id AS after_id, t.b_code AS after_code,
           f.geom AS g
    FROM twins t
    JOIN zoning_feature f ON f.id = t.a_id
    WHERE t.a_code <> t.b_code OR t.a_code = ANY($3)
    UNION ALL
    SELECT a.id, a.subzone_code, b.id, b.subzone_code,
           ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)
    FROM a_new a
    JOIN zoning_feature b ON b.version_id = $2 AND b.geom && a.geom
    WHERE (a.subzone_code <> b.subzone_code OR a.subzone_code = ANY($3))
      AND ST_Relate(a.geom, b.geom, '2********')
    UNION ALL
    SELECT a.id, a.subzone_code, b.id, b.subzone_code,
           ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)
    FROM b_new b
    JOIN zoning_feature a ON a.version_id = $1 AND a.geom && b.geom
    WHERE NOT EXISTS (SELECT 1 FROM a_new n WHERE n.id = a.id)
      AND (a.subzone_code <> b.subzone_code OR a.subzone_code = ANY($3))
      AND ST_Relate(a.geom, b.geom, '2********')
    UNION ALL
    SELECT a.id, a.subzone_code, NULL, NULL,
           ST_CollectionExtract(ST_Difference(a.geom, COALESCE(
               (SELECT ST_Union(b.geom) FROM zoning_feature b WHERE b.version_id = $2 AND b.geom && a.geom),
               'SRID=4326;GEOMETRYCOLLECTION EMPTY'::geometry)), 3)
    FROM a_new a
    UNION ALL
    SELECT NULL, NULL, b.id, b.subzone_code,
           ST_CollectionExtract(ST_Difference(b.geom, COALESCE(
               (SELECT ST_Union(a.geom) FROM zoning_feature a WHERE a.version_id = $1 AND a.geom && b.geom),
               'SRID=4326;GEOMETRYCOLLECTION EMPTY'::geometry)), 3)
    FROM b_new b
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
