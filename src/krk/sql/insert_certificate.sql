-- An issued certificate: number $1 (seq $3 of year $2) for application $4, its canonical content
-- $5 and Ed25519 signature $6 by key $7, computed from plan versions $8; the PDF $9 and its
-- SHA-256 $10; issued by account $11.
INSERT INTO krk_certificate (number, year, seq, application_id, payload, signature, key_id,
                             versions, pdf, pdf_sha256, issued_by)
VALUES ($1, $2, $3, $4::uuid, $5, $6, $7, $8, $9, $10, $11)
