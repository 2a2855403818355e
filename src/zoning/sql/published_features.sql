SELECT f.id, f.version_id, f.subzone_code, f.block, f.subblock, f.kelurahan, f.kecamatan,
       f.overlays::text, f.attributes::text, ST_AsBinary(f.geom)
FROM published_zoning f
ORDER BY f.id
