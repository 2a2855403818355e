
-- Run by psql last in the restore's transaction: continue the change log above every id servers
-- may have seen, so that the change `satupeta restore` then announces is newer for all of them.
SELECT setval(pg_get_serial_sequence('public.change_log', 'id'),
              GREATEST(:newest_change, (SELECT COALESCE(max(id), 0) FROM public.change_log), 1));

-- Every other sequence (plans, plan versions, zones, ...) continues above where it stood too.
SELECT setval(b.name::regclass, GREATEST(b.last_value, COALESCE(s.last_value, 0), 1))
FROM satupeta_sequences_before b
JOIN pg_sequences s ON quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename) = b.name;
