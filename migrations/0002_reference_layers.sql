-- Reference layers shipped with the project: Balikpapan's administrative boundaries (city,
-- kecamatan, kelurahan), which the map draws and tiles serve.
CREATE TABLE admin_area (
    id        serial PRIMARY KEY,
    kode      text NOT NULL UNIQUE,
    nama      text NOT NULL,
    tingkat   text NOT NULL CHECK (tingkat IN ('kota', 'kecamatan', 'kelurahan')),
    kecamatan text,
    geom      geometry(MultiPolygon, 4326) NOT NULL,
    geom_3857 geometry(MultiPolygon, 3857) NOT NULL
);
CREATE INDEX admin_area_geom_3857 ON admin_area USING gist (geom_3857);
