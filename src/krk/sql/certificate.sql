-- The certificate numbered $1, or the one whose PDF has SHA-256 $2.
SELECT number, application_id::text AS application_id, payload, signature, key_id,
       pdf_sha256, superseded,
       to_char(revoked_at AT TIME ZONE 'Asia/Makassar', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"') AS revoked_at,
       revocation_reason
FROM krk_certificate
WHERE number = $1 OR pdf_sha256 = $2
