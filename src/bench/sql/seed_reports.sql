-- $1 reports at random points of the city's kelurahan (each in its kelurahan and kecamatan), of
-- every service and state, received over the last 90 days, with what is due for the open ones.
WITH city AS (
    SELECT ST_Union(geom) AS geom FROM admin_area WHERE tingkat = 'kelurahan'
),
points AS (
    SELECT row_number() OVER () AS g, d.geom
    FROM city, ST_Dump(ST_GeneratePoints(city.geom, $1, 6471)) AS d
),
placed AS (
    SELECT p.g, p.geom, a.nama AS kelurahan, a.kecamatan,
           (ARRAY['submitted', 'verified', 'in_progress', 'resolved', 'rejected', 'duplicate', 'hidden'])[1 + (p.g % 7)::int] AS status
    FROM points p
    JOIN LATERAL (
        SELECT nama, kecamatan FROM admin_area
        WHERE tingkat = 'kelurahan' AND ST_Intersects(admin_area.geom, p.geom) LIMIT 1
    ) a ON true
)
INSERT INTO report (token, service_code, description, geom, kecamatan, kelurahan, plan, status,
                    requested_at, updated_at, due_kind, due_on, source, submitted_from)
SELECT md5('bench' || g), (ARRAY['tanpa-pbg', 'lebih-intensitas', 'kegiatan-tidak-sesuai', 'sempadan-rth', 'lainnya'])[1 + (g % 5)::int],
       'Laporan uji nomor ' || g, geom, coalesce(kecamatan, ''), kelurahan, '{"plan": null}', status,
       now() - make_interval(secs => (g % 7776000)::double precision), now(),
       CASE WHEN status = 'submitted' THEN 'verification' WHEN status IN ('verified', 'in_progress') THEN 'answer' END,
       CASE WHEN status IN ('submitted', 'verified', 'in_progress') THEN current_date + (g % 10)::int - 4 END,
       'bench', '127.0.0.1'
FROM placed
