INSERT INTO zoning_feature (version_id, source_fid, subzone_code, block, subblock, kelurahan, kecamatan,
                            overlays, attributes, area_m2, geom, geom_3857)
SELECT $1, fid, subzone_code, block, subblock, kelurahan, kecamatan, overlays, attributes,
       ST_Area(geom::geography), geom, ST_Transform(geom, 3857)
FROM import_staging
WHERE NOT rejected
ORDER BY fid
