-- City-plan certificates (KRK): applications, the gap-free numbering, issued certificates and their
-- revocation.
--
--   * A plan version names its regulation (the legal instrument that enacted it); a version that
--     does not name one keeps its plan's previous one.
--   * `krk_application`: what an applicant sent (identity, land title, contact, parcel, intended
--     function and activity) and the draft computed from the version in force when it came. The
--     applicant follows it by a private link: only the SHA-256 of its key is stored.
--   * `krk_counter`: one row per year; issuing takes the next number in the transaction that stores
--     the certificate, so a number is used exactly when a certificate is stored (no gaps).
--   * `krk_certificate`: the signed content (canonical JSON, RFC 8785, exactly as signed), its
--     Ed25519 signature and key id, the PDF and its SHA-256, the plan versions it was computed
--     from, its supersession once found (it stays superseded), and its revocation.

ALTER TABLE plan_version ADD COLUMN regulation text;

CREATE TABLE krk_application (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key_sha256      bytea NOT NULL,
    status          text NOT NULL DEFAULT 'submitted'
                    CHECK (status IN ('submitted', 'issued', 'refused')),
    applicant       jsonb NOT NULL,
    building_function text NOT NULL,
    activity        text,
    parcel          geometry(MultiPolygon, 4326) NOT NULL,
    parcel_area_m2  double precision NOT NULL,
    draft           jsonb NOT NULL,
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    submitted_from  text,
    decided_at      timestamptz,
    decided_by      bigint REFERENCES account (id),
    refusal_reason  text,
    CHECK ((status = 'refused') = (refusal_reason IS NOT NULL))
);
CREATE INDEX krk_application_queue ON krk_application (submitted_at) WHERE status = 'submitted';

CREATE TABLE krk_counter (
    year integer PRIMARY KEY,
    last integer NOT NULL CHECK (last > 0)
);

CREATE TABLE krk_certificate (
    id              bigserial PRIMARY KEY,
    number          text NOT NULL UNIQUE,
    year            integer NOT NULL,
    seq             integer NOT NULL,
    application_id  uuid NOT NULL UNIQUE REFERENCES krk_application (id),
    payload         text NOT NULL,
    signature       bytea NOT NULL,
    key_id          text NOT NULL,
    versions        bigint[] NOT NULL,
    pdf             bytea NOT NULL,
    pdf_sha256      bytea NOT NULL UNIQUE,
    issued_at       timestamptz NOT NULL DEFAULT now(),
    issued_by       bigint NOT NULL REFERENCES account (id),
    superseded      jsonb,
    revoked_at      timestamptz,
    revoked_by      bigint REFERENCES account (id),
    revocation_reason text,
    UNIQUE (year, seq),
    CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL))
);
