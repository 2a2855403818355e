-- The moments since certificate $1 was issued at which what is in force may have changed, up to
-- today, one per version that came since: a version published after the certificate counts from
-- its effective day (or the certificate's, if earlier) with the versions published up to it; a
-- version published before but taking effect after the certificate's day counts from that day
-- with the versions published up to the certificate.
WITH issued AS (
    SELECT issued_at, (issued_at AT TIME ZONE 'Asia/Makassar')::date AS day,
           (SELECT COALESCE(max(id), 0) FROM plan_version WHERE published_at <= c.issued_at) AS known
    FROM krk_certificate c
    WHERE number = $1
)
SELECT GREATEST(v.effective_from, i.day)::text AS day, GREATEST(v.id, i.known) AS published_up_to
FROM plan_version v, issued i
WHERE (v.published_at > i.issued_at OR v.effective_from > i.day)
  AND v.effective_from <= city_today()
ORDER BY 1, 2
