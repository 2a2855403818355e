-- The gauges `/metrics` reads from the database, with their labels: reports and certificate
-- applications by state, certificates, the mail outbox, and the operations of each kind (how many,
-- and how long the last took).
SELECT 'satupeta_reports' AS metric, jsonb_build_object('status', status) AS labels,
       count(*)::float8 AS value
FROM report GROUP BY status
UNION ALL
SELECT 'satupeta_krk_applications', jsonb_build_object('status', status), count(*)::float8
FROM krk_application GROUP BY status
UNION ALL
SELECT 'satupeta_krk_certificates',
       jsonb_build_object('state', CASE WHEN revoked_at IS NULL THEN 'valid' ELSE 'revoked' END),
       count(*)::float8
FROM krk_certificate GROUP BY revoked_at IS NULL
UNION ALL
SELECT 'satupeta_mail_outbox',
       jsonb_build_object('state', CASE WHEN sent_at IS NOT NULL THEN 'sent'
                                        WHEN last_error IS NULL THEN 'waiting'
                                        ELSE 'retrying' END),
       count(*)::float8
FROM mail_outbox GROUP BY 2
UNION ALL
SELECT 'satupeta_operation_runs',
       jsonb_build_object('kind', kind, 'outcome', CASE WHEN succeeded THEN 'ok' ELSE 'failed' END),
       count(*)::float8
FROM operation_log GROUP BY kind, succeeded
UNION ALL
SELECT 'satupeta_operation_last_seconds', jsonb_build_object('kind', kind), seconds
FROM (SELECT DISTINCT ON (kind) kind, seconds FROM operation_log ORDER BY kind, id DESC) AS last
