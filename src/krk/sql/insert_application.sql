-- A new application: key digest $1, applicant $2, building function $3, activity $4, parcel $5
-- (WKB, EPSG:4326), its area $6 (m²), the draft $7, sent from $8.
INSERT INTO krk_application (key_sha256, applicant, building_function, activity, parcel,
                             parcel_area_m2, draft, submitted_from)
VALUES ($1, $2, $3, $4, ST_Multi(ST_SetSRID(ST_GeomFromWKB($5), 4326)), $6, $7, $8)
RETURNING id::text
