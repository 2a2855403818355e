-- A new report (its contact, photos and first event are inserted in the same transaction).
INSERT INTO report (token, service_code, description, attributes, address, geom, kecamatan,
                    kelurahan, plan, due_kind, due_on, photos, source, api_key_id, submitted_from)
VALUES ($1, $2, $3, $4, $5, ST_SetSRID(ST_MakePoint($6, $7), 4326), $8, $9, $10,
        'verification', $11, $12, $13, $14, $15)
RETURNING id
