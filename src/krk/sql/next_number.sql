-- The day of issue in Balikpapan and the next certificate number of its year. The counter's row
-- stays locked until the calling transaction ends: concurrent issuers queue, and a rolled-back
-- issue leaves no gap.
WITH today AS (
    SELECT city_today() AS day
),
taken AS (
    INSERT INTO krk_counter (year, last)
    SELECT extract(year FROM day)::int, 1 FROM today
    ON CONFLICT (year) DO UPDATE SET last = krk_counter.last + 1
    RETURNING year, last
)
SELECT today.day::text AS day, taken.year, extract(month FROM today.day)::int AS month,
       taken.last AS seq
FROM today, taken
