-- The zoning features of every published plan version, with the legend of their sub-zone.
SELECT f.id, f.subzone_code, s.catalog_code, s.name, s.color, f.block, f.version_id, ST_AsBinary(f.geom_3857)
FROM published_zoning f
JOIN subzone s ON s.code = f.subzone_code
ORDER BY f.id
