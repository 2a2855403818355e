-- The tables of the features benchmark. The points: a table shaped like a published dataset's (fid, a
-- GiST-indexed geometry, typed properties), filled with random points over Balikpapan.
-- `{points}` is replaced by the number of points; `setseed` makes every run draw the same ones.
SELECT setseed(0.6471);

CREATE TABLE dataset_data.fasilitas__v1 (
    fid       bigint PRIMARY KEY,
    geom      geometry(Point, 4326) NOT NULL,
    nama      text NOT NULL,
    kategori  text NOT NULL,
    kapasitas integer NOT NULL
);

INSERT INTO dataset_data.fasilitas__v1 (fid, geom, nama, kategori, kapasitas)
SELECT i,
       ST_SetSRID(ST_MakePoint(116.80 + 0.30 * random(), -1.30 + 0.25 * random()), 4326),
       'Fasilitas ' || i,
       (ARRAY['sekolah', 'puskesmas', 'masjid', 'pasar', 'kantor'])[1 + floor(random() * 5)::int],
       floor(random() * 500)::int
FROM generate_series(1, {points}) AS i;

CREATE INDEX fasilitas__v1_geom ON dataset_data.fasilitas__v1 USING gist (geom);

ANALYZE dataset_data.fasilitas__v1;

-- The plan as the peers read it: what satupeta's `zoning` collection serves (the zones in force,
-- the same properties), without the second geometry (`geom_3857`, kept for tiles), which pygeoapi
-- cannot serialise and no client asks for.
CREATE VIEW public.bench_zoning AS
SELECT id, version_id, source_fid, subzone_code, block, subblock, kelurahan, kecamatan, overlays,
       area_m2, in_force_version_id, geom
FROM published_zoning;
