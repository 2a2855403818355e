-- One line of the audit log.
INSERT INTO audit_log (account_id, actor, action, target, origin, detail)
VALUES ($1, $2, $3, $4, $5, $6)
