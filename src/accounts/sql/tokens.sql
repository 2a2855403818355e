-- The tokens of an account ($1), or of every account (NULL), newest first.
SELECT t.id, a.name AS account, t.label, t.prefix, t.created_at::text AS created_at,
       t.last_used_at::text AS last_used_at, t.revoked_at::text AS revoked_at
FROM api_token t
JOIN account a ON a.id = t.account_id
WHERE $1::text IS NULL OR a.name = $1
ORDER BY t.id DESC
