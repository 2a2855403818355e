-- After an edit of feature $3 of dataset $1: the current version's feature count moves by $2, and
-- its extent (west, south, east, north) grows to hold the feature as it now is. Read from the one
-- feature, not the whole table ({table}): a deleted feature leaves the extent as it was until the
-- next publication (the extent may be larger than the data, never smaller).
UPDATE dataset_version v
SET features = v.features + $2,
    extent = COALESCE(
        (SELECT ARRAY[LEAST(v.extent[1], ST_XMin(f.geom)), LEAST(v.extent[2], ST_YMin(f.geom)),
                      GREATEST(v.extent[3], ST_XMax(f.geom)), GREATEST(v.extent[4], ST_YMax(f.geom))]
         FROM {table} f
         WHERE f.fid = $3 AND f.geom IS NOT NULL),
        v.extent)
WHERE (v.dataset_id, v.version) = (SELECT id, current_version FROM dataset WHERE id = $1)
