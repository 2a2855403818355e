-- A report's state, locked for a transition.
SELECT status, (requested_at AT TIME ZONE 'Asia/Makassar')::date AS received, verified_on
FROM report WHERE id = $1 FOR UPDATE
