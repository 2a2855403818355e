INSERT INTO kbli (code, title, description, level, parent, category)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
