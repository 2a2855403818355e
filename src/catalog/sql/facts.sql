-- What a freshly loaded dataset table ({table}) holds: its extent, its geometry types, its
-- invalid geometries (the first 20, with the reason) and how many there are.
SELECT ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north,
       kinds, invalid, invalid_count
FROM (SELECT ST_Extent(geom)::geometry AS e,
             array_agg(DISTINCT GeometryType(geom)) AS kinds
      FROM {table}) extent,
     (SELECT COALESCE(array_agg(fid::text || ': ' || reason ORDER BY fid)
                      FILTER (WHERE n <= 20), '{}') AS invalid,
             count(*) AS invalid_count
      FROM (SELECT fid, ST_IsValidReason(geom) AS reason, row_number() OVER (ORDER BY fid) AS n
            FROM {table} WHERE NOT ST_IsValid(geom)) bad) invalid
