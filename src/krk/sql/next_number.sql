-- The next certificate number of year $1. The counter's row stays locked until the calling
-- transaction ends: concurrent issuers queue, and a rolled-back issue leaves no gap.
INSERT INTO krk_counter (year, last) VALUES ($1, 1)
ON CONFLICT (year) DO UPDATE SET last = krk_counter.last + 1
RETURNING last
