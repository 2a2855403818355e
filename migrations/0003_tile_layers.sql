-- The registry of tile layers: any table with a Web Mercator geometry column can be served as
-- vector tiles by adding a row here; no code changes. The zoning layer is built in (it is
-- generalised and joined with the legend).
CREATE TABLE tile_layer (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_]*$' AND id <> 'zoning'),
    description     text NOT NULL,
    table_name      text NOT NULL,
    id_column       text NOT NULL,
    geometry_column text NOT NULL,
    properties      text[] NOT NULL DEFAULT '{}'
);

INSERT INTO tile_layer (id, description, table_name, id_column, geometry_column, properties)
VALUES ('admin', 'Administrative boundaries of Kota Balikpapan (city, kecamatan, kelurahan)',
        'admin_area', 'id', 'geom_3857', ARRAY['kode', 'nama', 'tingkat', 'kecamatan']);
