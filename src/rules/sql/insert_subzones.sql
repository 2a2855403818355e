INSERT INTO rule_subzone (rule_set_id, code, catalog_code, name, zone_code, color, source)
SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
