-- Plans are regulations: a plan version fixes its zoning geometry *and* its rule set, has the
-- date it took effect, and never changes afterwards.
--
-- Before: one global set of rule tables (subzone, intensity, activity, activity_kbli, condition,
-- itbx) that every plan and every past version read. After:
--   * shared reference data: `zone`, `catalogue_subzone` (the national Permen 14/2021 catalogue,
--     plus sub-zones derived from published files) and `kbli`;
--   * immutable rule sets (`rule_set` and its `rule_*` tables), content-addressed by a digest;
--   * `plan_version.rule_set_id`, `effective_from`, and `geometry_version_id` (a version that only
--     changes the rules reuses the zoning rows of an earlier version instead of copying them).
-- Existing rules become rule set 1, and every existing version uses it.

-- ---------------------------------------------------------------- reference data
ALTER TABLE subzone RENAME TO catalogue_subzone;
ALTER TABLE catalogue_subzone RENAME COLUMN code_source TO source;

-- ---------------------------------------------------------------- rule sets
CREATE TABLE rule_set (
    id        bigserial PRIMARY KEY,
    digest    text,                    -- rule_set_digest(id), set once the rows are in
    source    text NOT NULL,           -- the directory, or the file whose attributes carried it
    notes     jsonb NOT NULL DEFAULT '[]',
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX rule_set_digest_unique ON rule_set (digest);

-- The sub-zones a rule set regulates (its legend).
CREATE TABLE rule_subzone (
    rule_set_id  bigint NOT NULL REFERENCES rule_set (id) ON DELETE CASCADE,
    code         text   NOT NULL,
    catalog_code text   NOT NULL,
    name         text   NOT NULL,
    zone_code    text   NOT NULL REFERENCES zone (code),
    color        text   NOT NULL CHECK (color ~ '^#[0-9A-Fa-f]{6}$'),
    source       text   NOT NULL DEFAULT 'observed',
    PRIMARY KEY (rule_set_id, code)
);

CREATE TABLE rule_intensity (
    rule_set_id   bigint  NOT NULL,
    subzone_code  text    NOT NULL,
    min_parcel_m2 numeric NOT NULL DEFAULT 0,
    max_parcel_m2 numeric,
    kdb_max       numeric NOT NULL,
    klb_min       numeric NOT NULL,
    klb_max       numeric NOT NULL,
    kdh_min       numeric NOT NULL,
    ktb_max       numeric NOT NULL,
    max_height_m  numeric,
    max_floors    integer,
    gsb_m         numeric,
    min_lot_m2    numeric,
    PRIMARY KEY (rule_set_id, subzone_code, min_parcel_m2),
    FOREIGN KEY (rule_set_id, subzone_code) REFERENCES rule_subzone (rule_set_id, code) ON DELETE CASCADE
);

CREATE TABLE rule_activity (
    rule_set_id bigint NOT NULL REFERENCES rule_set (id) ON DELETE CASCADE,
    id          text   NOT NULL,
    name        text   NOT NULL,
    kbli        text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (rule_set_id, id)
);

CREATE TABLE rule_condition (
    rule_set_id bigint NOT NULL REFERENCES rule_set (id) ON DELETE CASCADE,
    code        text   NOT NULL,
    text        text   NOT NULL,
    PRIMARY KEY (rule_set_id, code)
);

CREATE TABLE rule_itbx (
    rule_set_id  bigint NOT NULL,
    activity_id  text   NOT NULL,
    subzone_code text   NOT NULL,
    class        text   NOT NULL CHECK (class IN ('I', 'T', 'B', 'TB', 'X')),
    conditions   text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (rule_set_id, activity_id, subzone_code),
    FOREIGN KEY (rule_set_id, activity_id) REFERENCES rule_activity (rule_set_id, id) ON DELETE CASCADE,
    FOREIGN KEY (rule_set_id, subzone_code) REFERENCES rule_subzone (rule_set_id, code) ON DELETE CASCADE
);

-- The digest of a rule set's content: SHA-256 of a canonical text of every row, in key order.
-- Two rule sets with the same digest regulate the same way.
CREATE FUNCTION rule_set_digest(set_id bigint) RETURNS text
LANGUAGE sql STABLE AS $$
SELECT encode(sha256(convert_to(concat_ws(E'\n',
    (SELECT string_agg(concat_ws(E'\t', code, catalog_code, name, zone_code, color), E'\n' ORDER BY code)
       FROM rule_subzone WHERE rule_set_id = set_id),
    '--',
    (SELECT string_agg(concat_ws(E'\t', subzone_code, min_parcel_m2::float8, max_parcel_m2::float8,
                                 kdb_max::float8, klb_min::float8, klb_max::float8, kdh_min::float8,
                                 ktb_max::float8, max_height_m::float8, max_floors, gsb_m::float8,
                                 min_lot_m2::float8), E'\n' ORDER BY subzone_code, min_parcel_m2)
       FROM rule_intensity WHERE rule_set_id = set_id),
    '--',
    (SELECT string_agg(concat_ws(E'\t', id, name,
                                 array_to_string(ARRAY(SELECT k FROM unnest(kbli) AS k ORDER BY k), ' ')),
                       E'\n' ORDER BY id)
       FROM rule_activity WHERE rule_set_id = set_id),
    '--',
    (SELECT string_agg(concat_ws(E'\t', code, text), E'\n' ORDER BY code)
       FROM rule_condition WHERE rule_set_id = set_id),
    '--',
    (SELECT string_agg(concat_ws(E'\t', activity_id, subzone_code, class, array_to_string(conditions, '+')),
                       E'\n' ORDER BY activity_id, subzone_code)
       FROM rule_itbx WHERE rule_set_id = set_id)
), 'UTF8')), 'hex')
$$;

-- ---------------------------------------------------------------- the existing rules become set 1
-- (A new database has no rules yet: it gets no rule set here.)
INSERT INTO rule_set (source)
SELECT 'rule tables loaded before version 0005'
WHERE EXISTS (SELECT 1 FROM plan_version) OR EXISTS (SELECT 1 FROM intensity);
INSERT INTO rule_subzone (rule_set_id, code, catalog_code, name, zone_code, color, source)
SELECT 1, code, catalog_code, name, zone_code, color, source FROM catalogue_subzone;
INSERT INTO rule_intensity
SELECT 1, subzone_code, min_parcel_m2, max_parcel_m2, kdb_max, klb_min, klb_max, kdh_min, ktb_max,
       max_height_m, max_floors, gsb_m, min_lot_m2
FROM intensity;
INSERT INTO rule_activity (rule_set_id, id, name, kbli)
SELECT 1, a.id, a.name, COALESCE(array_agg(k.kbli_code ORDER BY k.kbli_code) FILTER (WHERE k.kbli_code IS NOT NULL), '{}')
FROM activity a LEFT JOIN activity_kbli k ON k.activity_id = a.id
GROUP BY a.id, a.name;
INSERT INTO rule_condition (rule_set_id, code, text) SELECT 1, code, text FROM condition;
INSERT INTO rule_itbx (rule_set_id, activity_id, subzone_code, class, conditions)
SELECT 1, activity_id, subzone_code, class, conditions FROM itbx;
UPDATE rule_set SET digest = rule_set_digest(id);

ALTER TABLE zoning_feature DROP CONSTRAINT zoning_feature_subzone_code_fkey;
DROP TABLE itbx, condition, activity_kbli, activity, intensity;

-- The national catalogue keys on the numeric code; a derived entry records the file it came from.
ALTER TABLE catalogue_subzone DROP CONSTRAINT subzone_pkey;
ALTER TABLE catalogue_subzone ADD PRIMARY KEY (catalog_code);
ALTER TABLE catalogue_subzone DROP CONSTRAINT subzone_catalog_code_key;
ALTER TABLE catalogue_subzone ADD CONSTRAINT catalogue_subzone_code_key UNIQUE (code);

-- The digest of the reference data (catalogue, zones, KBLI) last loaded from the files the binary
-- ships, so that a new binary loads them again only when they changed.
CREATE TABLE reference_state (
    name   text PRIMARY KEY,
    digest text NOT NULL
);

-- The city's rule set (`satupeta rules load DIR` without --plan) from a day on: plans that follow the
-- city's rules take the one in force on their version's effective date.
CREATE TABLE city_rule_set (
    id             bigserial PRIMARY KEY,
    rule_set_id    bigint NOT NULL REFERENCES rule_set (id),
    effective_from date   NOT NULL,
    loaded_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO city_rule_set (rule_set_id, effective_from)
SELECT id, '1900-01-01' FROM rule_set WHERE id = 1;

-- ---------------------------------------------------------------- versions
-- rules_from: how the version got its rules: 'city' (it follows the city's rule set), 'plan'
-- (`rules load --plan`), 'given' (`import --rules`) or 'file' (`--rules-from-attributes`).
ALTER TABLE plan_version
    ADD COLUMN rule_set_id bigint REFERENCES rule_set (id),
    ADD COLUMN rules_from text NOT NULL DEFAULT 'city'
        CHECK (rules_from IN ('city', 'plan', 'given', 'file')),
    ADD COLUMN effective_from date,
    ADD COLUMN geometry_version_id bigint REFERENCES plan_version (id),
    ADD COLUMN policies jsonb NOT NULL DEFAULT '{}';
UPDATE plan_version
SET rule_set_id = 1,
    effective_from = (published_at AT TIME ZONE 'Asia/Makassar')::date,
    geometry_version_id = id;
ALTER TABLE plan_version
    ALTER COLUMN rule_set_id SET NOT NULL,
    ALTER COLUMN effective_from SET NOT NULL,
    ALTER COLUMN geometry_version_id SET NOT NULL;
CREATE INDEX plan_version_in_force ON plan_version (plan_id, effective_from DESC, version DESC);

-- Balikpapan's calendar day (WITA, UTC+8): the day whose regulations are in force "now".
CREATE FUNCTION city_today() RETURNS date
LANGUAGE sql STABLE AS $$ SELECT (now() AT TIME ZONE 'Asia/Makassar')::date $$;

-- The version of each plan in force on day `d`: the one with the latest effective date on or
-- before `d` (the higher version number when two took effect the same day).
CREATE FUNCTION versions_in_force(d date)
RETURNS TABLE (plan_id bigint, version_id bigint, geometry_version_id bigint, rule_set_id bigint)
LANGUAGE sql STABLE AS $$
SELECT DISTINCT ON (v.plan_id) v.plan_id, v.id, v.geometry_version_id, v.rule_set_id
FROM plan_version v
WHERE v.effective_from <= d
ORDER BY v.plan_id, v.effective_from DESC, v.version DESC
$$;

-- The zones in force today (for psql users and the benchmarks; lookups read the versions).
DROP VIEW published_zoning;
CREATE VIEW published_zoning AS
SELECT f.*, v.version_id AS in_force_version_id
FROM zoning_feature f
JOIN versions_in_force(city_today()) v ON v.geometry_version_id = f.version_id;
