CREATE TEMP TABLE import_staging (
    fid          bigint NOT NULL,
    subzone_code text,
    block        text,
    subblock     text,
    kelurahan    text,
    kecamatan    text,
    overlays     jsonb NOT NULL,
    attributes   jsonb NOT NULL,
    geom         geometry NOT NULL,
    rejected     boolean NOT NULL DEFAULT false
) ON COMMIT DROP
