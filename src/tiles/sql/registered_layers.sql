-- The registry of tile layers: tables served as vector tiles without new code; and the catalog's
-- datasets, each from its current version's table in EPSG:4326 (its columns as properties); the
-- tiles of an internal one are for signed-in accounts only (see `web::tiles`). Layers are held in
-- memory: a dataset of more than $2 features has no tiles (its publication report says so).
-- $1: only these layers (null: every one).
SELECT * FROM (
SELECT id, description, table_name, id_column, geometry_column, properties
FROM tile_layer
UNION ALL
SELECT d.id,
       COALESCE(NULLIF(d.metadata->>'title', ''), d.id),
       'dataset_data.' || v.table_name,
       'fid',
       'geom',
       ARRAY(SELECT a.attname::text
             FROM pg_attribute a
             WHERE a.attrelid = format('dataset_data.%I', v.table_name)::regclass
               AND a.attnum > 0 AND NOT a.attisdropped
               AND a.attname NOT IN ('fid', 'geom', 'geom_3857')
             ORDER BY a.attnum)
FROM dataset d
JOIN dataset_version v ON v.dataset_id = d.id AND v.version = d.current_version
WHERE v.features <= $2
) layers
WHERE $1::text[] IS NULL OR id = ANY($1)
ORDER BY id
