-- Features of the zoning rows $3 (geometry version ids) under a point.
SELECT f.id, f.version_id, f.subzone_code, f.block, f.subblock, f.kelurahan, f.kecamatan,
       f.overlays::text AS overlays, f.attributes::text AS attributes, ST_AsBinary(f.geom) AS wkb
FROM zoning_feature f
WHERE ST_Intersects(f.geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
  AND f.version_id = ANY($3)
ORDER BY f.version_id DESC, f.id
