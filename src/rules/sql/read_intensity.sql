SELECT subzone_code AS subzone, min_parcel_m2::float8, max_parcel_m2::float8, kdb_max::float8,
       klb_min::float8, klb_max::float8, kdh_min::float8, ktb_max::float8, max_height_m::float8,
       max_floors, gsb_m::float8, min_lot_m2::float8
FROM rule_intensity WHERE rule_set_id = $1 ORDER BY subzone_code, min_parcel_m2
