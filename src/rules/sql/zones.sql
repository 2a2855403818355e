SELECT code, name, kind FROM zone ORDER BY code
