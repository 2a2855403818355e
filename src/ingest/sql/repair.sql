-- Repairs invalid geometries in place (GEOS MakeValid, keeping the polygonal part) and returns
-- each repair: the feature, why it was invalid, where, and whether anything polygonal remained.
WITH invalid AS (
    SELECT fid, ST_IsValidDetail(geom) AS detail
    FROM import_staging
    WHERE NOT ST_IsValid(geom)
),
repaired AS (
    UPDATE import_staging s
    SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(s.geom), 3))
    FROM invalid i
    WHERE s.fid = i.fid
    RETURNING s.fid, s.geom
)
SELECT i.fid, (i.detail).reason AS reason, ST_X((i.detail).location) AS x,
       ST_Y((i.detail).location) AS y, ST_IsEmpty(r.geom) AS emptied
FROM invalid i JOIN repaired r USING (fid)
ORDER BY i.fid
