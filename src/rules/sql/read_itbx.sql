SELECT activity_id, subzone_code, class, conditions FROM rule_itbx WHERE rule_set_id = $1
