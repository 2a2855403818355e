-- What a backup holds, as `satupeta backup` and `restore` report it.
SELECT (SELECT count(*) FROM plan) AS plans,
       (SELECT count(*) FROM plan_version) AS versions,
       (SELECT count(*) FROM zoning_feature) AS features
