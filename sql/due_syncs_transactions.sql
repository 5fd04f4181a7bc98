-- run_due_syncs() starts its workers when the calling transaction commits,
-- and only the starts that are still part of it then: a subtransaction that
-- is rolled back (ROLLBACK TO SAVEPOINT, a PL/pgSQL exception block) takes
-- its starts with it, as it takes the runs it queued. PREPARE TRANSACTION
-- refuses (0A000) while a start is pending: it could only happen at COMMIT
-- PREPARED, later and perhaps in another session. (In this test instance the
-- launcher watches the "postgres" database: a run queued here stays queued
-- unless run_due_syncs starts it.)
SET client_min_messages = warning;
CREATE TABLE public.dt_items (id int PRIMARY KEY);
INSERT INTO public.dt_items VALUES (1), (2);
SELECT reverse_etl.create_model('dt_items', 'SELECT id FROM public.dt_items', 'id');
SELECT reverse_etl.create_destination('dt_hook', 'webhook', jsonb_build_object('url', mock_url('/dt')),
                                      enabled => true);
SELECT reverse_etl.create_mapping('dt_items', 'dt_hook', 'send', '{"id": "id"}', name => 'dt_manual');
SELECT mock_reset();

-- The run's status once a worker started at the last commit would have had
-- the time to take it (1 s; one takes it within milliseconds), or as soon as
-- it leaves 'queued'.
CREATE FUNCTION pg_temp.dt_status(run bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    current text;
BEGIN
    FOR i IN 1..20 LOOP
        SELECT status INTO current FROM reverse_etl.sync_runs WHERE run_id = run;
        IF current <> 'queued' THEN
            RETURN current;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN current;
END $$;
-- Waits (up to 10 s) until the run has finished.
CREATE FUNCTION pg_temp.dt_finished(run bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    current text;
BEGIN
    FOR i IN 1..200 LOOP
        SELECT status INTO current FROM reverse_etl.sync_runs WHERE run_id = run;
        IF current NOT IN ('queued', 'running') THEN
            RETURN current;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN current;
END $$;

-- A queued run that run_due_syncs() would start.
SELECT reverse_etl.request_sync('dt_manual') AS run_id \gset

-- 1. Rolled back to a savepoint: the start goes with it.
BEGIN;
SAVEPOINT before_due;
SELECT reverse_etl.run_due_syncs() AS started;
ROLLBACK TO SAVEPOINT before_due;
COMMIT;
SELECT pg_temp.dt_status(:run_id) AS status_after_rollback_to_savepoint;

-- 2. Released into a savepoint that is then rolled back: gone too.
BEGIN;
SAVEPOINT outer_sp;
SAVEPOINT inner_sp;
SELECT reverse_etl.run_due_syncs() AS started;
RELEASE SAVEPOINT inner_sp;
ROLLBACK TO SAVEPOINT outer_sp;
COMMIT;
SELECT pg_temp.dt_status(:run_id) AS status_after_outer_rollback;

-- 3. A PL/pgSQL exception block that catches an error after the call.
DO $$
BEGIN
    BEGIN
        PERFORM reverse_etl.run_due_syncs();
        RAISE EXCEPTION 'changed my mind';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
END $$;
SELECT pg_temp.dt_status(:run_id) AS status_after_exception_block;

-- 4. PREPARE TRANSACTION with a start pending is refused, and nothing starts.
BEGIN;
SELECT reverse_etl.run_due_syncs() AS started;
PREPARE TRANSACTION 'dt_due';
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS prepared FROM pg_prepared_xacts WHERE gid = 'dt_due';
SELECT pg_temp.dt_status(:run_id) AS status_after_refused_prepare;
-- (Had it been prepared, do not leave it behind.)
SELECT count(*) > 0 AS leftover FROM pg_prepared_xacts WHERE gid = 'dt_due' \gset
\if :leftover
ROLLBACK PREPARED 'dt_due';
\endif

-- 5. A savepoint that is released keeps the start: the run goes at commit.
BEGIN;
SAVEPOINT kept;
SELECT reverse_etl.run_due_syncs() AS started;
RELEASE SAVEPOINT kept;
COMMIT;
SELECT pg_temp.dt_finished(:run_id) AS status_after_release;
SELECT count(*) AS records_received FROM mock_records();

-- 6. With nothing to start, a transaction that called run_due_syncs() can be
-- prepared: its queued runs (none here) wait for the launcher or a later call.
BEGIN;
SELECT reverse_etl.run_due_syncs() AS started;
PREPARE TRANSACTION 'dt_nothing';
COMMIT PREPARED 'dt_nothing';

SELECT reverse_etl.drop_destination('dt_hook', cascade => true);
SELECT reverse_etl.drop_model('dt_items');
DROP TABLE public.dt_items;
