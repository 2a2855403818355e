-- After an edit: the current version's feature count and extent (west, south, east, north) as
-- its table ({table}) now holds them, for dataset $1.
UPDATE dataset_version
SET features = facts.n,
    extent = ARRAY[ST_XMin(facts.e), ST_YMin(facts.e), ST_XMax(facts.e), ST_YMax(facts.e)]
FROM (SELECT count(*) AS n, ST_Extent(geom)::geometry AS e FROM {table}) facts
WHERE (dataset_id, version) = (SELECT id, current_version FROM dataset WHERE id = $1)
