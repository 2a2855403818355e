-- Condition lists travel as comma-joined text: UNNEST cannot unpack a text[][] into rows of text[].
INSERT INTO rule_itbx (rule_set_id, activity_id, subzone_code, class, conditions)
SELECT $1, a, s, c, CASE WHEN k = '' THEN '{}'::text[] ELSE string_to_array(k, ',') END
FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[]) AS u(a, s, c, k)
