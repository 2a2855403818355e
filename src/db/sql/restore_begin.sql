-- Run by psql first in the restore's single transaction, before the SQL `pg_restore` prints.
SET client_min_messages = warning;

-- Remember the newest change servers may have seen: the restored change log may end below it.
-- The lock makes writers that announce changes wait (and fail once the table is replaced).
LOCK TABLE public.change_log IN EXCLUSIVE MODE;
SELECT GREATEST(
           (SELECT COALESCE(max(id), 0) FROM public.change_log),
           COALESCE(pg_sequence_last_value(pg_get_serial_sequence('public.change_log', 'id')::regclass), 0)
       ) AS newest_change \gset

-- Remember where every sequence stood: after the restore, ids continue above them, so that no plan
-- version, zone or change id that a running server has seen is ever given to other content.
CREATE TEMP TABLE satupeta_sequences_before ON COMMIT DROP AS
SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) AS name, COALESCE(last_value, 0) AS last_value
FROM pg_sequences
WHERE schemaname NOT IN ('pg_catalog', 'information_schema');

-- Drop everything the project created: the public schema (PostGIS with it) and every other
-- schema that is not PostgreSQL's own. The backup creates them again.
DO $$
DECLARE
    schema_name name;
BEGIN
    FOR schema_name IN
        SELECT nspname FROM pg_namespace
        WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_%'
    LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', schema_name);
    END LOOP;
END
$$;

CREATE SCHEMA public;
GRANT USAGE ON SCHEMA public TO PUBLIC;
