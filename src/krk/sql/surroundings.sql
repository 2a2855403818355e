-- What borders parcel $1 (WKB, EPSG:4326) in the plans in force on day $4 (today when null)
-- counting the versions published up to version $5 (all when null), measured in UTM zone 50S:
--   'road' rows: a road body (sub-zone BJ) within $3 metres of the parcel: the width of the road
--     body near the parcel (the diameter of the widest circle inside its part within 40 m of the
--     parcel) and the length of the parcel's edge along it (its boundary's segments whose two ends
--     are within $3 metres of the road body);
--   'protection' rows: a local-protection zone (PS: river, lake and coast setbacks) or a water body
--     (BA) within $3 metres: what it protects (its KSMPDN overlay, else its name), the length of
--     the parcel's edge along it, and the parcel's area inside it;
--   'overlay' rows: each overlay of the zones $2 (the zones the parcel lies in).
WITH parcel AS (
    SELECT g, ST_Transform(g, 32750) AS m
    FROM (SELECT ST_SetSRID(ST_GeomFromWKB($1), 4326) AS g) AS p
),
near AS (
    SELECT f.id, f.subzone_code, f.overlays, s.name, ST_Transform(f.geom, 32750) AS m
    FROM zoning_feature f
    JOIN (SELECT DISTINCT ON (pv.plan_id) pv.geometry_version_id, pv.rule_set_id
          FROM plan_version pv
          WHERE pv.effective_from <= COALESCE($4::date, city_today())
            AND ($5::bigint IS NULL OR pv.id <= $5)
          ORDER BY pv.plan_id, pv.effective_from DESC, pv.version DESC) v
      ON v.geometry_version_id = f.version_id
    LEFT JOIN rule_subzone s ON s.code = f.subzone_code AND s.rule_set_id = v.rule_set_id
    CROSS JOIN parcel p
    WHERE f.subzone_code IN ('BJ', 'PS', 'BA')
      AND f.geom && ST_Expand(p.g, 0.001)
      AND ST_DWithin(ST_Transform(f.geom, 32750), p.m, $3)
)
SELECT 'road' AS kind, n.id AS feature_id, n.subzone_code AS subzone, NULL::text AS label,
       2 * (ST_MaximumInscribedCircle(ST_Intersection(n.m, ST_Buffer(p.m, 40)))).radius AS width_m,
       (SELECT COALESCE(SUM(ST_Length(seg.geom)), 0)
        FROM ST_DumpSegments(ST_Boundary(p.m)) AS seg
        WHERE ST_DWithin(ST_StartPoint(seg.geom), n.m, $3)
          AND ST_DWithin(ST_EndPoint(seg.geom), n.m, $3)) AS frontage_m,
       0::float8 AS inside_m2
FROM near n, parcel p
WHERE n.subzone_code = 'BJ'
UNION ALL
SELECT 'protection', n.id, n.subzone_code, COALESCE(n.overlays ->> 'KSMPDN', n.name), NULL,
       (SELECT COALESCE(SUM(ST_Length(seg.geom)), 0)
        FROM ST_DumpSegments(ST_Boundary(p.m)) AS seg
        WHERE ST_DWithin(ST_StartPoint(seg.geom), n.m, $3)
          AND ST_DWithin(ST_EndPoint(seg.geom), n.m, $3)),
       ST_Area(ST_Intersection(n.m, p.m))
FROM near n, parcel p
WHERE n.subzone_code IN ('PS', 'BA')
UNION ALL
SELECT 'overlay', f.id, o.key, o.value, NULL, 0, 0
FROM zoning_feature f, jsonb_each_text(f.overlays) o
WHERE f.id = ANY($2)
ORDER BY 1, 2, 3
