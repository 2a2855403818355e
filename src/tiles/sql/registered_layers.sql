-- The registry of tile layers: tables served as vector tiles without new code.
SELECT id, description, table_name, id_column, geometry_column, properties
FROM tile_layer
ORDER BY id
