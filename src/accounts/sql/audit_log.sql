-- The newest $1 lines of the audit log.
SELECT id, at::text AS at, actor, action, target, origin, detail
FROM audit_log
ORDER BY id DESC
LIMIT $1
