-- Web sessions: a signed-in browser holds a random secret in an HttpOnly cookie; only its SHA-256
-- is kept here, with when it ends.
CREATE TABLE web_session (
    secret_hash  bytea PRIMARY KEY CHECK (length(secret_hash) = 32),
    account_id   bigint NOT NULL REFERENCES account (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    origin       text NOT NULL
);

CREATE INDEX web_session_account ON web_session (account_id);
