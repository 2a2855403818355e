-- How long the operations that change what is served took (imports, rule loads, dataset
-- publications, tile seeding), whichever process ran them: `/metrics` shows the last of each kind.
CREATE TABLE operation_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('import', 'rules', 'dataset', 'seed')),
    subject     text NOT NULL,
    started_at  timestamptz NOT NULL,
    seconds     double precision NOT NULL CHECK (seconds >= 0),
    succeeded   boolean NOT NULL
);
CREATE INDEX operation_log_kind ON operation_log (kind, id DESC);
