SELECT code, catalog_code, name, zone_code AS zone, color, source AS code_source
FROM rule_subzone WHERE rule_set_id = $1 ORDER BY catalog_code, code
