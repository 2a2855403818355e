-- Holes in the union of the plan's zones larger than $1 square metres: land inside the plan that
-- no zone covers. The union snaps to a 1e-7 degree (about 1 cm) grid, so that hairline slits
-- between neighbours, which real data is full of, do not join a hole to the outside.
WITH covered AS (
    SELECT ST_Union(geom, 1e-7) AS g FROM import_staging WHERE NOT rejected
),
parts AS (
    SELECT (ST_Dump(g)).geom AS part FROM covered
),
holes AS (
    SELECT ST_MakePolygon(ST_InteriorRingN(part, n)) AS hole
    FROM parts, generate_series(1, ST_NumInteriorRings(part)) AS n
)
SELECT ST_Area(hole::geography) AS area, ST_X(ST_PointOnSurface(hole)), ST_Y(ST_PointOnSurface(hole))
FROM holes
WHERE ST_Area(hole::geography) > $1
ORDER BY 1 DESC
