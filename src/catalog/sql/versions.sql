-- The versions of dataset $1, newest first.
SELECT version, source_name, source_format, source_crs, features, geometry_type, report,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at
FROM dataset_version
WHERE dataset_id = $1
ORDER BY version DESC
