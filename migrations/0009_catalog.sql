-- The catalog of the network node: datasets published by agencies (OPD), each version's data in a
-- table of its own in the schema `dataset_data`, with SNI 8843-1 metadata. The zoning plan and the
-- administrative boundaries are catalog entries too, built in (see `src/catalog`).

CREATE SCHEMA dataset_data;

CREATE TABLE dataset (
    id              text PRIMARY KEY
                    CHECK (id ~ '^[a-z][a-z0-9_]{1,47}$' AND id NOT IN ('zoning', 'admin', 'catalog')),
    agency          text NOT NULL REFERENCES agency (code),
    -- SNI 8843-1:2019 metadata as edited (title, abstract, topic, keywords, contact, lineage,
    -- licence, update frequency, reference date); the extent and CRS are computed from the data.
    metadata        jsonb NOT NULL DEFAULT '{}',
    -- internal: signed-in accounts only; public: everyone (after DPPR staff approved it).
    visibility      text NOT NULL DEFAULT 'internal' CHECK (visibility IN ('internal', 'public')),
    current_version integer,
    approved_by     bigint REFERENCES account (id),
    approved_at     timestamptz,
    created_by      bigint NOT NULL REFERENCES account (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((visibility = 'public') = (approved_at IS NOT NULL))
);
CREATE INDEX dataset_agency ON dataset (agency);

-- Every upload of a dataset: the previous versions' tables are kept.
CREATE TABLE dataset_version (
    dataset_id    text NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
    version       integer NOT NULL CHECK (version > 0),
    table_name    text NOT NULL UNIQUE,
    source_name   text NOT NULL,
    source_format text NOT NULL,
    source_crs    text NOT NULL,
    features      bigint NOT NULL,
    geometry_type text NOT NULL,
    -- west, south, east, north in EPSG:4326 (null when the dataset has no features)
    extent        double precision[],
    -- what the import repaired or dropped, for the record
    report        jsonb NOT NULL DEFAULT '{}',
    created_by    bigint NOT NULL REFERENCES account (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset_id, version)
);

ALTER TABLE dataset ADD FOREIGN KEY (id, current_version) REFERENCES dataset_version (dataset_id, version)
    DEFERRABLE INITIALLY DEFERRED;

-- Change notifications name a topic (`zoning`, `rules`, `tile_layers`, `dataset:<id>`), so that a
-- server reloads only what changed.
ALTER TABLE change_log ADD COLUMN topic text NOT NULL DEFAULT 'zoning';

CREATE OR REPLACE FUNCTION satupeta_announce(what text, topic text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    id bigint;
BEGIN
    INSERT INTO change_log (what, topic) VALUES (what, topic) RETURNING change_log.id INTO id;
    PERFORM pg_notify('satupeta_changes', id::text);
    RETURN id;
END
$$;

CREATE OR REPLACE FUNCTION satupeta_tile_layer_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM satupeta_announce('tile layers ' || lower(TG_OP), 'tile_layers');
    RETURN NULL;
END
$$;
