-- The days since certificate $1 was issued on which what is in force may have changed, up to
-- today: the effective days of versions published after it (or its own day, for a version that
-- took effect earlier), and those of versions that took effect after its day.
WITH issued AS (
    SELECT issued_at, (issued_at AT TIME ZONE 'Asia/Makassar')::date AS day
    FROM krk_certificate
    WHERE number = $1
)
SELECT DISTINCT GREATEST(v.effective_from, i.day)::text AS day
FROM plan_version v, issued i
WHERE (v.published_at > i.issued_at OR v.effective_from > i.day)
  AND v.effective_from <= city_today()
ORDER BY 1
