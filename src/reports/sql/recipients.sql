-- Whom a report's news goes to: its reporter, if they gave an email, and its followers (each
-- address once).
SELECT lower(email) FROM report_contact WHERE report_id = $1 AND email IS NOT NULL
UNION
SELECT lower(email) FROM report_follower WHERE report_id = $1
