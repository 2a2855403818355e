INSERT INTO rule_activity (rule_set_id, id, name, kbli)
SELECT $1, a, n, CASE WHEN k = '' THEN '{}'::text[] ELSE string_to_array(k, ' ') END
FROM UNNEST($2::text[], $3::text[], $4::text[]) AS u(a, n, k)
