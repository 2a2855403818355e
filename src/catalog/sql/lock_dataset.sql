-- The dataset $1 for a change, locked until the transaction ends.
SELECT id, agency, metadata, visibility, current_version,
       (SELECT COALESCE(max(version), 0) FROM dataset_version WHERE dataset_id = $1) AS last_version
FROM dataset
WHERE id = $1
FOR UPDATE
