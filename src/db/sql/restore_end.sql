
-- Run by psql last in the restore's transaction: continue the change log above every id servers
-- may have seen, so that the change `satupeta restore` then announces is newer for all of them.
SELECT setval(pg_get_serial_sequence('public.change_log', 'id'),
              GREATEST(:newest_change, (SELECT COALESCE(max(id), 0) FROM public.change_log), 1));
