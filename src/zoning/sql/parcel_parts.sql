-- The parts of parcel $1 (GeoJSON, EPSG:4326) in each published zone, with geodesic areas (m²),
-- and the part outside every published zone.
WITH parcel AS (
    SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g
),
parts AS (
    SELECT f.id, ST_CollectionExtract(ST_Intersection(f.geom, parcel.g), 3) AS g
    FROM published_zoning f, parcel
    WHERE ST_Intersects(f.geom, parcel.g)
)
SELECT parts.id, ST_Area(parts.g::geography) AS area
FROM parts
WHERE NOT ST_IsEmpty(parts.g)
UNION ALL
SELECT NULL, ST_Area(ST_Difference(parcel.g, COALESCE((SELECT ST_Union(g) FROM parts), 'SRID=4326;GEOMETRYCOLLECTION EMPTY'::geometry))::geography)
FROM parcel
