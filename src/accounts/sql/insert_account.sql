-- A new account; nothing when the name is taken.
INSERT INTO account (name, role, agency, password_hash)
VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO NOTHING
RETURNING id
