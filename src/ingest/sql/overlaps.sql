-- Pairs of zones whose interiors overlap by more than $1 square metres.
SELECT a.fid AS a, b.fid AS b, o.area, ST_X(o.at) AS x, ST_Y(o.at) AS y
FROM import_staging a
JOIN import_staging b ON a.fid < b.fid AND a.geom && b.geom
CROSS JOIN LATERAL (
    SELECT ST_Area(i::geography) AS area, ST_PointOnSurface(i) AS at
    FROM ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3) AS i
) o
WHERE NOT a.rejected AND NOT b.rejected
  AND ST_Relate(a.geom, b.geom, '2********')
  AND o.area > $1
ORDER BY o.area DESC
