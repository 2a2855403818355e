-- The zoning core: rule tables (sub-zone catalogue, intensity, activities, ITBX matrix) and
-- versioned RDTR plans with their zoning polygons.
CREATE EXTENSION IF NOT EXISTS postgis;

-- ---------------------------------------------------------------- rules
CREATE TABLE zone (
    code text PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('lindung', 'budidaya'))
);

CREATE TABLE subzone (
    code         text PRIMARY KEY,              -- letter code, e.g. R-3
    catalog_code text NOT NULL UNIQUE,          -- Permen 14/2021 numeric code, e.g. 32103300
    name         text NOT NULL,                 -- NAMOBJ, e.g. Perumahan Kepadatan Sedang
    zone_code    text NOT NULL REFERENCES zone (code),
    color        text NOT NULL CHECK (color ~ '^#[0-9A-Fa-f]{6}$'),
    code_source  text NOT NULL DEFAULT 'observed'
);

-- Building-intensity rules; a sub-zone may have several tiers by parcel size.
CREATE TABLE intensity (
    subzone_code  text    NOT NULL REFERENCES subzone (code) ON DELETE CASCADE,
    min_parcel_m2 numeric NOT NULL DEFAULT 0,
    max_parcel_m2 numeric,
    kdb_max       numeric NOT NULL,
    klb_min       numeric NOT NULL,
    klb_max       numeric NOT NULL,
    kdh_min       numeric NOT NULL,
    ktb_max       numeric NOT NULL,
    max_height_m  numeric NOT NULL,
    max_floors    integer NOT NULL,
    gsb_m         numeric NOT NULL,
    min_lot_m2    numeric,
    PRIMARY KEY (subzone_code, min_parcel_m2)
);

-- The KBLI 2020 business classification (BPS), searched by activity lookups.
CREATE TABLE kbli (
    code        text PRIMARY KEY,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    level       text NOT NULL,
    parent      text,
    category    text NOT NULL
);

CREATE TABLE activity (
    id   text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE activity_kbli (
    activity_id text NOT NULL REFERENCES activity (id) ON DELETE CASCADE,
    kbli_code   text NOT NULL REFERENCES kbli (code),
    PRIMARY KEY (activity_id, kbli_code)
);
CREATE UNIQUE INDEX activity_kbli_code ON activity_kbli (kbli_code);

CREATE TABLE condition (
    code text PRIMARY KEY,
    text text NOT NULL
);

-- One cell of the ITBX matrix.
CREATE TABLE itbx (
    activity_id  text   NOT NULL REFERENCES activity (id) ON DELETE CASCADE,
    subzone_code text   NOT NULL REFERENCES subzone (code) ON DELETE CASCADE,
    class        text   NOT NULL CHECK (class IN ('I', 'T', 'B', 'TB', 'X')),
    conditions   text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (activity_id, subzone_code)
);

-- ---------------------------------------------------------------- plans
-- A plan is one RDTR document (one planning area's regulation); every import publishes a new version.
CREATE TABLE plan (
    id                   bigserial PRIMARY KEY,
    name                 text NOT NULL UNIQUE,
    published_version_id bigint,
    created_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plan_version (
    id            bigserial PRIMARY KEY,
    plan_id       bigint  NOT NULL REFERENCES plan (id) ON DELETE CASCADE,
    version       integer NOT NULL,
    source_file   text    NOT NULL,
    source_sha256 text    NOT NULL,
    source_layer  text    NOT NULL,
    source_crs    text    NOT NULL,
    feature_count integer NOT NULL,
    area_m2       double precision NOT NULL,
    report        jsonb   NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (plan_id, version)
);

ALTER TABLE plan ADD FOREIGN KEY (published_version_id) REFERENCES plan_version (id);

CREATE TABLE zoning_feature (
    id           bigserial PRIMARY KEY,
    version_id   bigint  NOT NULL REFERENCES plan_version (id) ON DELETE CASCADE,
    source_fid   bigint  NOT NULL,
    subzone_code text    NOT NULL REFERENCES subzone (code),
    block        text,
    subblock     text,
    kelurahan    text,
    kecamatan    text,
    overlays     jsonb   NOT NULL DEFAULT '{}',
    attributes   jsonb   NOT NULL,
    area_m2      double precision NOT NULL,
    geom         geometry(MultiPolygon, 4326) NOT NULL,
    geom_3857    geometry(MultiPolygon, 3857) NOT NULL
);
CREATE INDEX zoning_feature_version ON zoning_feature (version_id);
CREATE INDEX zoning_feature_geom ON zoning_feature USING gist (geom);
CREATE INDEX zoning_feature_geom_3857 ON zoning_feature USING gist (geom_3857);

-- The features of every published plan version: what lookups consult.
CREATE VIEW published_zoning AS
SELECT f.*
FROM zoning_feature f
JOIN plan p ON p.published_version_id = f.version_id;

-- Every publication or rule change adds a row; servers compare the newest id to learn of changes
-- made by other processes (LISTEN/NOTIFY tells them at once; this is the fallback).
CREATE TABLE change_log (
    id    bigserial PRIMARY KEY,
    what  text NOT NULL,
    at    timestamptz NOT NULL DEFAULT now()
);
