-- The points registered as a public dataset `fasilitas` of a benchmark agency, version 1, as an
-- approved upload would leave it. $1: the publisher's argon2id hash, $2: the number of points.
WITH agency AS (
    INSERT INTO agency (code, name) VALUES ('bench', 'Benchmark agency') RETURNING code
), publisher AS (
    INSERT INTO account (name, role, agency, password_hash)
    SELECT 'bench-publisher', 'publisher', code, $1 FROM agency
    RETURNING id, agency
), dataset AS (
    INSERT INTO dataset (id, agency, metadata, visibility, current_version, approved_by, approved_at, created_by)
    SELECT 'fasilitas', agency,
           '{"title": "Fasilitas umum (benchmark)", "abstract": "Random points over Balikpapan for satupeta bench features", "keywords": ["fasilitas", "benchmark"]}',
           'public', 1, id, now(), id
    FROM publisher
    RETURNING id
)
INSERT INTO dataset_version (dataset_id, version, table_name, source_name, source_format, source_crs,
                             features, geometry_type, extent, created_by)
SELECT 'fasilitas', 1, 'fasilitas__v1', 'generated', 'PostGIS', 'EPSG:4326', $2, 'Point',
       (SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)]
        FROM (SELECT ST_Extent(geom)::geometry AS e FROM dataset_data.fasilitas__v1) x),
       publisher.id
FROM publisher;
