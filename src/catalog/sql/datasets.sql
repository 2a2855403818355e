-- Every dataset with its current version (if any) and its agency's name (or only dataset $1).
SELECT d.id, d.agency, a.name AS agency_name, d.metadata, d.visibility,
       d.current_version, v.table_name, v.features, v.geometry_type, v.extent,
       to_char(GREATEST(d.updated_at, v.created_at) AT TIME ZONE 'UTC',
               'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS updated
FROM dataset d
JOIN agency a ON a.code = d.agency
LEFT JOIN dataset_version v ON v.dataset_id = d.id AND v.version = d.current_version
WHERE $1::text IS NULL OR d.id = $1
ORDER BY d.id
