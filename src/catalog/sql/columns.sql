-- The columns of a relation ($1: schema, $2: name) with their types, in order.
SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS sql_type
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
