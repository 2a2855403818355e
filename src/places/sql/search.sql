-- Kelurahan, kecamatan and the city whose names contain every word of $1 (any case), the closer
-- matches first: the whole name, then names that start with the words, then the finer areas.
SELECT nama AS name, tingkat AS level, kecamatan,
       ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat,
       ST_XMin(geom) AS west, ST_YMin(geom) AS south, ST_XMax(geom) AS east, ST_YMax(geom) AS north
FROM admin_area
WHERE (SELECT bool_and(strpos(lower(nama), w) > 0) FROM unnest($1::text[]) AS w)
ORDER BY lower(nama) = array_to_string($1::text[], ' ') DESC,
         starts_with(lower(nama), $1[1]) DESC,
         CASE tingkat WHEN 'kelurahan' THEN 0 WHEN 'kecamatan' THEN 1 ELSE 2 END,
         nama
LIMIT $2
