-- Two versions on the same zoning rows $1 (a change of rules only): the zones whose sub-zone's
-- rules changed ($3: their codes). Pieces of $4 m² or less are left out; at most $5 rows, largest
-- first. With $6 (an envelope in WGS 84), only the zones that reach into it.
SELECT id AS before_id, subzone_code AS before_code, id AS after_id, subzone_code AS after_code,
       area_m2, ST_AsGeoJSON(geom, 7) AS geometry
FROM zoning_feature
WHERE version_id = $1 AND $2::bigint IS NOT NULL AND subzone_code = ANY($3) AND area_m2 > $4
  AND ($6::geometry IS NULL OR geom && $6::geometry)
ORDER BY area_m2 DESC
LIMIT $5
