-- Reports of zoning and building violations (Open311 GeoReport v2 and the citizen map).
--
--   * `report`: what was reported (service, point, description, the service's extra attributes),
--     what the plan said at the point when it came (`plan`, so staff see at once whether the
--     complaint is plausible), where it falls (kecamatan, kelurahan: who handles it), its state
--     and what is due by when. Nothing in it is personal: every public answer reads this table.
--   * `report_contact`: who reported it, if they said; read only to send them mail, never by a
--     public answer, a tile or an export.
--   * `report_photo`: the photos as kept (upright, scaled, re-encoded without metadata) and their
--     thumbnails. They live in the database, not in files: a report and its photos commit together
--     (nothing half-stored), and every server behind a load balancer, and every replica, has them.
--   * `report_event`: every transition (who, when, from, to, the note and whether it is public).
--   * `report_follower`: people who follow a report instead of filing the same one again.
--   * `api_key`: the Open311 client applications (only the SHA-256 of a key is stored).
--   * `mail_outbox`: mail to send; a message stays until the SMTP server took it.

CREATE TABLE api_key (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    key_sha256  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE report (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token           text NOT NULL UNIQUE,
    service_code    text NOT NULL,
    description     text NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
    attributes      jsonb NOT NULL DEFAULT '{}',
    address         text,
    geom            geometry(Point, 4326) NOT NULL,
    kecamatan       text NOT NULL,
    kelurahan       text NOT NULL,
    plan            jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'submitted'
                    CHECK (status IN ('submitted', 'verified', 'in_progress', 'resolved',
                                      'rejected', 'duplicate', 'hidden')),
    status_notes    text,
    duplicate_of    bigint REFERENCES report (id),
    requested_at    timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    verified_on     date,
    due_kind        text CHECK (due_kind IN ('verification', 'answer')),
    due_on          date,
    photos          smallint NOT NULL DEFAULT 0,
    followers       integer NOT NULL DEFAULT 0,
    source          text NOT NULL,
    api_key_id      bigint REFERENCES api_key (id),
    submitted_from  text,
    CHECK ((due_kind IS NULL) = (due_on IS NULL))
);
CREATE INDEX report_geom ON report USING gist (geom);
CREATE INDEX report_geom_3857 ON report USING gist (ST_Transform(geom, 3857));
CREATE INDEX report_requested ON report (requested_at DESC, id DESC);
CREATE INDEX report_due ON report (due_on) WHERE due_on IS NOT NULL;
CREATE INDEX report_status ON report (status, service_code);

CREATE TABLE report_contact (
    report_id   bigint PRIMARY KEY REFERENCES report (id) ON DELETE CASCADE,
    email       text,
    first_name  text,
    last_name   text,
    phone       text,
    device_id   text,
    account_id  text
);

CREATE TABLE report_photo (
    report_id   bigint NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    n           smallint NOT NULL CHECK (n >= 1),
    jpeg        bytea NOT NULL,
    width       integer NOT NULL,
    height      integer NOT NULL,
    thumbnail   bytea NOT NULL,
    sha256      bytea NOT NULL,
    PRIMARY KEY (report_id, n)
);

CREATE TABLE report_event (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id   bigint NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    from_status text,
    to_status   text NOT NULL,
    note        text,
    public      boolean NOT NULL,
    account_id  bigint REFERENCES account (id),
    actor       text NOT NULL
);
CREATE INDEX report_event_of ON report_event (report_id, id);

CREATE TABLE report_follower (
    report_id   bigint NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    email       text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (report_id, email)
);

CREATE TABLE mail_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id       bigint REFERENCES report (id) ON DELETE CASCADE,
    to_addr         text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    last_error      text
);
CREATE INDEX mail_outbox_pending ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;

-- The reports as the staff's OGC API Features collection `reports`: no contact, no token.
CREATE VIEW report_features AS
SELECT id, service_code, status, description, address, kecamatan, kelurahan, requested_at,
       updated_at, due_kind, due_on, followers, photos, duplicate_of,
       plan -> 'subzone' ->> 'code' AS subzone_code, source, geom
FROM report;
