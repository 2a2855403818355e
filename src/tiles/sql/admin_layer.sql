-- Administrative boundaries: the city, its kecamatan and kelurahan.
SELECT id, kode, nama, tingkat, kecamatan, ST_AsBinary(geom_3857)
FROM admin_area
ORDER BY id
