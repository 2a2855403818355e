INSERT INTO rule_intensity (rule_set_id, subzone_code, min_parcel_m2, max_parcel_m2, kdb_max, klb_min,
                            klb_max, kdh_min, ktb_max, max_height_m, max_floors, gsb_m, min_lot_m2)
SELECT $1, * FROM UNNEST($2::text[], $3::float8[], $4::float8[], $5::float8[], $6::float8[],
                         $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::int[],
                         $12::float8[], $13::float8[])
