-- request_sync and run_due_syncs, without the launcher (in this test
-- instance the launcher watches the "postgres" database, not this one):
-- run_due_syncs queues due runs and starts queued ones when it commits.
SET client_min_messages = warning;
CREATE TABLE public.ss_items (id int PRIMARY KEY, label text);
INSERT INTO public.ss_items VALUES (1, 'one'), (2, 'two');
SELECT reverse_etl.create_model('ss_items', 'SELECT id, label FROM public.ss_items', 'id');
SELECT reverse_etl.create_destination('ss_hook', 'webhook', jsonb_build_object('url', mock_url('/ss')));
SELECT reverse_etl.create_mapping('ss_items', 'ss_hook', 'send', '{"id": "id", "label": "label"}',
                                  name => 'ss_interval', schedule => '1 hour', enabled => true);
SELECT reverse_etl.create_mapping('ss_items', 'ss_hook', 'send', '{"id": "id"}', name => 'ss_manual');

-- Waits until no run of the mapping is queued or running.
CREATE FUNCTION pg_temp.ss_wait(mapping_name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..200 LOOP
        PERFORM pg_stat_clear_snapshot();
        IF NOT EXISTS (SELECT 1 FROM reverse_etl.sync_runs r
                        WHERE r.mapping = mapping_name AND r.status IN ('queued', 'running')) THEN
            RETURN;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RAISE EXCEPTION 'runs of % did not finish', mapping_name;
END $$;

-- A disabled destination: nothing is due, request_sync refuses.
SELECT reverse_etl.run_due_syncs() AS started;
SELECT reverse_etl.request_sync('ss_manual');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.request_sync('nothing here');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.request_sync(NULL);
\echo :LAST_ERROR_SQLSTATE

-- Enabled: the interval mapping is due at once; run_due_syncs starts it.
SELECT reverse_etl.enable_destination('ss_hook');
SELECT next_run_at <= now() AS due FROM reverse_etl.mappings WHERE name = 'ss_interval';
SELECT mock_reset();
SELECT reverse_etl.run_due_syncs() AS started;
SELECT pg_temp.ss_wait('ss_interval');
SELECT trigger, status, records_added, records_succeeded FROM reverse_etl.sync_runs WHERE mapping = 'ss_interval';
SELECT count(*) AS records_received FROM mock_records();
-- Planned one interval after that run started; nothing is due now.
SELECT next_run_at BETWEEN now() + interval '59 minutes' AND now() + interval '1 hour' AS next_in_an_hour
  FROM reverse_etl.mappings WHERE name = 'ss_interval';
SELECT reverse_etl.run_due_syncs() AS started;

-- request_sync queues one run, whoever asks again gets the same run; a manual
-- mapping never runs by itself, but its requested run does.
BEGIN;
SELECT reverse_etl.request_sync('ss_manual') AS run_id \gset
SELECT reverse_etl.request_sync('ss_manual') = :run_id AS same_run;
SELECT status, trigger FROM reverse_etl.sync_runs WHERE run_id = :run_id;
COMMIT;
SELECT reverse_etl.run_due_syncs() AS started;
SELECT pg_temp.ss_wait('ss_manual');
SELECT status, trigger, records_added, records_succeeded FROM reverse_etl.sync_runs WHERE run_id = :run_id;
SELECT last_status, next_run_at IS NULL AS never_scheduled FROM reverse_etl.mapping_status WHERE mapping = 'ss_manual';

-- Started workers are gone: no run is left queued or running.
SELECT count(*) AS unfinished FROM reverse_etl.sync_runs WHERE status IN ('queued', 'running');

SELECT reverse_etl.drop_destination('ss_hook', cascade => true);
SELECT reverse_etl.drop_model('ss_items');
DROP TABLE public.ss_items;
