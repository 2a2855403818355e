INSERT INTO rule_condition (rule_set_id, code, text)
SELECT $1, * FROM UNNEST($2::text[], $3::text[])
