-- Takes the messages that are due, leasing each for two minutes (another server skips them; a
-- server that dies mid-send leaves them to be taken again when the lease ends).
UPDATE mail_outbox
SET attempts = attempts + 1, next_attempt_at = now() + interval '2 minutes'
WHERE id IN (
    SELECT id FROM mail_outbox
    WHERE sent_at IS NULL AND next_attempt_at <= now()
    ORDER BY id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, to_addr, subject, body, attempts
