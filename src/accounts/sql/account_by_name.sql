-- An account that may sign in (not disabled), by name.
SELECT id, name, role, agency, password_hash
FROM account
WHERE name = $1 AND disabled_at IS NULL
