-- Accounts and roles of the network node: agencies (OPD), people and scripts that sign in, the
-- tokens scripts use, and the audit log of every write.

CREATE TABLE agency (
    code       text PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9-]{1,31}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- admin: everything; staff (DPPR): approve datasets, issue certificates, follow reports;
-- publisher: publish the datasets of one agency.
CREATE TABLE account (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    role          text NOT NULL CHECK (role IN ('admin', 'staff', 'publisher')),
    agency        text REFERENCES agency (code),
    -- argon2id, in the PHC string format (algorithm, parameters, salt and hash).
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz,
    CHECK ((role = 'publisher') = (agency IS NOT NULL))
);

-- Bearer tokens for scripts: only the SHA-256 of the secret is kept (the secret has 256 random
-- bits: a slow hash adds nothing), with its first characters to tell tokens apart.
CREATE TABLE api_token (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES account (id),
    label        text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    secret_hash  bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE INDEX api_token_account ON api_token (account_id);

-- Every write: who (the account, or the command line), what, on what, when and from where.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    account_id bigint REFERENCES account (id),
    actor      text NOT NULL,
    action     text NOT NULL,
    target     text,
    origin     text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_at ON audit_log (at DESC);
