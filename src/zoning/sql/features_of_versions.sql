-- The zoning features of plan versions $1, as lookups hold them.
SELECT f.id, f.version_id, f.subzone_code, f.block, f.subblock, f.kelurahan, f.kecamatan,
       f.overlays::text AS overlays, f.attributes::text AS attributes, ST_AsBinary(f.geom) AS wkb
FROM zoning_feature f
WHERE f.version_id = ANY($1)
