-- reverse_etl 0.1.0 -> 0.2.0
--
-- The library refuses to run syncs while the installed extension's version
-- is not its own, and this script is what moves that version. The build
-- appends the refresh of the built-in destination types
-- (scripts/build_install_sql.sh).

\echo Use "ALTER EXTENSION reverse_etl UPDATE" to load this file. \quit

-- Each mapping's checkpoint keeps the destination key each record was last
-- sent with (a deletion finds the record at the destination by it) and the
-- destination's id of the record, and its log of a run's selection the key
-- each record goes out with.
DO $upgrade$
DECLARE
    state_table record;
BEGIN
    FOR state_table IN
        SELECT c.oid::regclass AS name, c.relname OPERATOR(pg_catalog.~) '^checkpoint_' AS is_checkpoint
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = 'reverse_etl_state'::regnamespace AND c.relkind = 'r'
           AND c.relname OPERATOR(pg_catalog.~) '^(checkpoint|sending)_[0-9]+$'
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN dest_key text', state_table.name);
        IF state_table.is_checkpoint THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN object_id text', state_table.name);
        END IF;
    END LOOP;
END
$upgrade$;
