INSERT INTO zone (code, name, kind)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[])
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind
