-- The extent (west, south, east, north) and the number of rows of a built-in collection's relation.
SELECT ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north, n
FROM (SELECT ST_Extent(geom)::geometry AS e, count(*) AS n FROM {relation}) s
