-- The parts of parcel $1 (GeoJSON, EPSG:4326) in each published zone, with the zone's sub-zone,
-- block and plan version and the part's geodesic area (m²); and the part outside every published
-- zone (a row with only the area).
WITH parcel AS (
    SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g
),
parts AS (
    SELECT f.id, f.subzone_code, f.block, f.version_id, ST_CollectionExtract(ST_Intersection(f.geom, parcel.g), 3) AS g
    FROM published_zoning f, parcel
    WHERE ST_Intersects(f.geom, parcel.g)
)
SELECT parts.id, parts.subzone_code, parts.block, parts.version_id, ST_Area(parts.g::geography) AS area
FROM parts
WHERE NOT ST_IsEmpty(parts.g)
UNION ALL
SELECT NULL, NULL, NULL, NULL, ST_Area(ST_Difference(parcel.g, COALESCE((SELECT ST_Union(g) FROM parts), 'SRID=4326;GEOMETRYCOLLECTION EMPTY'::geometry))::geography)
FROM parcel
