SELECT code, catalog_code, name, zone_code AS zone, color, source AS code_source
FROM catalogue_subzone ORDER BY catalog_code
