-- The plan versions $1 a draft was computed from, with their regulations; and the kelurahan and
-- kecamatan of the largest of the zones $2 (the parcel's place), on every row.
WITH place AS (
    SELECT kelurahan, kecamatan
    FROM zoning_feature
    WHERE id = ANY($2)
    ORDER BY area_m2 DESC
    LIMIT 1
)
SELECT v.id, p.name AS plan, v.version, v.effective_from::text AS effective_from, v.regulation,
       place.kelurahan, place.kecamatan
FROM plan_version v
JOIN plan p ON p.id = v.plan_id
LEFT JOIN place ON true
WHERE v.id = ANY($1)
ORDER BY v.id
