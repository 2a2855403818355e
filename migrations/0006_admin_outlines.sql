-- The kecamatan and city outlines drawn from the kelurahan they contain: the source's coarser
-- kecamatan lines crossed the kelurahan lines on the map. The union of the kelurahan leaves holes
-- where the source's kelurahan do not quite meet; an outline keeps only its outer rings. Called
-- after the boundaries are loaded (satupeta does it at start-up on a new database) and here for a
-- database that has them.
CREATE FUNCTION satupeta_outline(shapes geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE AS $$
SELECT ST_Multi(ST_Collect(ST_MakePolygon(ST_ExteriorRing(d.geom))))
FROM ST_Dump(ST_CollectionExtract(ST_MakeValid(shapes), 3)) AS d
$$;

CREATE FUNCTION satupeta_derive_admin_outlines() RETURNS void
LANGUAGE sql AS $$
UPDATE admin_area k
SET geom = u.geom, geom_3857 = ST_Transform(u.geom, 3857)
FROM (
    SELECT kecamatan AS nama, satupeta_outline(ST_Union(geom)) AS geom
    FROM admin_area WHERE tingkat = 'kelurahan' GROUP BY kecamatan
) u
WHERE k.tingkat = 'kecamatan' AND k.nama = u.nama;
UPDATE admin_area c
SET geom = u.geom, geom_3857 = ST_Transform(u.geom, 3857)
FROM (
    SELECT satupeta_outline(ST_Union(geom)) AS geom FROM admin_area WHERE tingkat = 'kelurahan'
) u
WHERE c.tingkat = 'kota' AND u.geom IS NOT NULL;
$$;

SELECT satupeta_derive_admin_outlines();
SELECT satupeta_announce('admin outlines derived from the kelurahan')
WHERE EXISTS (SELECT 1 FROM admin_area);
