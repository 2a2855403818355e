-- The shipped catalogue replaces the national entries; entries derived from published files stay
-- (one that the shipped catalogue now lists takes the shipped values).
INSERT INTO catalogue_subzone (catalog_code, code, name, zone_code, color, source)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
ON CONFLICT (catalog_code) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
    zone_code = EXCLUDED.zone_code, color = EXCLUDED.color, source = EXCLUDED.source
