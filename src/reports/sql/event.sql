INSERT INTO report_event (report_id, from_status, to_status, note, public, account_id, actor)
VALUES ($1, $2, $3, $4, $5, $6, $7)
