-- Features of plan version $3 (or of every published version when $3 is null) under a point,
-- the most recently published version first.
SELECT f.id, f.version_id, f.subzone_code, f.block, f.subblock, f.kelurahan, f.kecamatan,
       f.overlays::text AS overlays, f.attributes::text AS attributes, ST_AsBinary(f.geom) AS wkb
FROM zoning_feature f
WHERE ST_Intersects(f.geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
  AND (CASE WHEN $3::bigint IS NULL
            THEN f.version_id IN (SELECT published_version_id FROM plan WHERE published_version_id IS NOT NULL)
            ELSE f.version_id = $3 END)
ORDER BY f.version_id DESC, f.id
