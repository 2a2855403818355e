-- A report moved to its new state ($3 the public note, kept as Open311's status_notes).
UPDATE report
SET status = $2, status_notes = COALESCE($3, status_notes), updated_at = now(),
    verified_on = $4, due_kind = $5, due_on = $6, duplicate_of = $7
WHERE id = $1
