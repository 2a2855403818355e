-- Whether the city contains the point ($1 lon, $2 lat).
SELECT EXISTS (SELECT 1 FROM admin_area
               WHERE tingkat = 'kota' AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)))
