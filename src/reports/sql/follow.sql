-- Someone follows an open, visible report; the count goes up once per address.
WITH added AS (
    INSERT INTO report_follower (report_id, email)
    SELECT id, $2 FROM report WHERE id = $1 AND status IN ('submitted', 'verified', 'in_progress')
    ON CONFLICT DO NOTHING
    RETURNING report_id
)
UPDATE report SET followers = followers + (SELECT count(*) FROM added)
WHERE id = $1 AND status IN ('submitted', 'verified', 'in_progress')
RETURNING followers
