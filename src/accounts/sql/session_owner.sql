-- The account of a session that has not ended or expired (its account not disabled).
SELECT a.id, a.name, a.role, a.agency, a.password_hash
FROM web_session s
JOIN account a ON a.id = s.account_id
WHERE s.secret_hash = $1 AND s.ended_at IS NULL AND s.expires_at > now() AND a.disabled_at IS NULL
