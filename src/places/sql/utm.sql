-- A UTM position ($1 easting, $2 northing, EPSG $3) in WGS 84 degrees (PROJ, through PostGIS),
-- and whether the city contains it.
WITH p AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), $3), 4326) AS g)
SELECT ST_X(g) AS lon, ST_Y(g) AS lat,
       EXISTS (SELECT 1 FROM admin_area WHERE tingkat = 'kota' AND ST_Intersects(geom, p.g)) AS in_city
FROM p
