-- The account behind a token that is not revoked (its account not disabled), marking it used.
UPDATE api_token t
SET last_used_at = now()
FROM account a
WHERE t.secret_hash = $1 AND t.revoked_at IS NULL AND a.id = t.account_id AND a.disabled_at IS NULL
RETURNING a.id, a.name, a.role, a.agency, a.password_hash
