SELECT id, name, kbli FROM rule_activity WHERE rule_set_id = $1 ORDER BY id
