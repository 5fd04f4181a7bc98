-- sync() and the caller's transaction (SPEC section 5): the run works in a
-- background worker, in transactions of its own, while sync() waits for it.
-- A caller whose transaction holds locks or has written could keep the two
-- waiting for each other forever (BEGIN; reset_mapping(); sync() did): such
-- calls are refused with 25001, as VACUUM refuses a transaction block. Needs
-- sync_setup (mock helpers).
SET client_min_messages = warning;
CREATE TABLE st_items (id int PRIMARY KEY);
INSERT INTO st_items VALUES (1), (2);
SELECT reverse_etl.create_model('st items', 'SELECT id FROM public.st_items', 'id');
SELECT reverse_etl.create_destination('st hook', 'webhook', jsonb_build_object('url', mock_url('/st')),
    enabled => true);
SELECT reverse_etl.create_mapping('st items', 'st hook', 'send', '{"id": "id"}', name => 'st');
RESET client_min_messages;

-- Inside a transaction block, even one that did nothing yet.
BEGIN;
SELECT status FROM reverse_etl.sync('st');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- The case that hung: the reset's TRUNCATE locks the checkpoint the worker
-- must read.
BEGIN;
SELECT reverse_etl.reset_mapping('st');
SELECT status FROM reverse_etl.sync('st');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- Outside a block, after writing (one statement, so no block).
DO $$
BEGIN
    PERFORM reverse_etl.reset_mapping('st');
    PERFORM reverse_etl.sync('st');
END $$;
\echo :LAST_ERROR_SQLSTATE
-- After a lock stronger than ACCESS SHARE (writes to temporary tables, which
-- no other process can see, do not count).
DO $$
BEGIN
    LOCK TABLE public.st_items IN SHARE MODE;
    PERFORM reverse_etl.sync('st');
END $$;
\echo :LAST_ERROR_SQLSTATE
-- After reading the checkpoint, which a first run must alter.
DO $$
BEGIN
    EXECUTE (SELECT format('SELECT count(*) FROM reverse_etl_state.checkpoint_%s', mapping_id)
               FROM reverse_etl.mapping_catalog WHERE name = 'st');
    PERFORM reverse_etl.sync('st');
END $$;
\echo :LAST_ERROR_SQLSTATE
-- Reading the model's table first is fine, and so is creating and writing
-- a temporary table (which writes system catalogs); so is a plain call.
SET client_min_messages = warning;
DO $$
BEGIN
    CREATE TEMP TABLE st_log (n bigint);
    INSERT INTO pg_temp.st_log SELECT count(*) FROM public.st_items;
    PERFORM reverse_etl.sync('st');
END $$;
SELECT status, records_extracted FROM reverse_etl.sync('st');
SELECT trigger, status, records_selected FROM reverse_etl.sync_runs WHERE mapping = 'st' ORDER BY run_id;
-- request_sync() only queues a run, so it may run in a transaction block.
BEGIN;
SELECT reverse_etl.request_sync('st') > 0 AS queued;
ROLLBACK;

SELECT reverse_etl.drop_model('st items', cascade => true);
SELECT reverse_etl.drop_destination('st hook');
DROP TABLE st_items, pg_temp.st_log;
RESET client_min_messages;
