-- The kelurahan of the city with their kecamatan (reports are routed by them).
SELECT nama, kecamatan, ST_AsBinary(geom) AS wkb
FROM admin_area
WHERE tingkat = 'kelurahan'
ORDER BY kode
