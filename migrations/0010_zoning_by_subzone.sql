-- Zones by sub-zone code in id order: the features API pages a filter on the sub-zone (the most
-- asked one, `subzone_code = 'R-2'`) along this index instead of scanning every zone.
CREATE INDEX zoning_feature_subzone ON zoning_feature (subzone_code, id);
