SELECT code, title, '' AS description, level, parent, category FROM kbli ORDER BY code
