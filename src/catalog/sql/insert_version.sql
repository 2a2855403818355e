-- A new version of dataset $1, made current.
WITH v AS (
    INSERT INTO dataset_version (dataset_id, version, table_name, source_name, source_format,
                                 source_crs, features, geometry_type, extent, report, created_by)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    RETURNING dataset_id, version
)
UPDATE dataset d SET current_version = v.version, updated_at = now()
FROM v WHERE d.id = v.dataset_id
