-- Takes the messages that are due, leasing each for two minutes (another server skips them; a
-- server that dies mid-send leaves them to be taken again when the lease ends).
UPDATE mail_outbox
SET attempts = attempts + 1, next_attempt_at = now() + interval '2 minutes'
WHERE id IN (
    SELECT id FROM mail_outbox m
    WHERE sent_at IS NULL AND next_attempt_at <= now()
      -- A report's news reaches each address in order: not before its older news went.
      AND NOT EXISTS (
          SELECT 1 FROM mail_outbox o
          WHERE o.sent_at IS NULL AND o.id < m.id
            AND o.to_addr = m.to_addr AND o.report_id IS NOT DISTINCT FROM m.report_id
            AND o.next_attempt_at < 'infinity'
      )
    ORDER BY id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, to_addr, subject, body, attempts
