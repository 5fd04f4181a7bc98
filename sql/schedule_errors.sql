-- A mapping whose stored schedule or time zone cannot be evaluated (written
-- into the catalog directly by a superuser, or a time zone the server no
-- longer knows) does not stop the others: run_due_syncs(), like the launcher,
-- plans each due mapping in a subtransaction of its own, takes a broken one
-- off the schedule with a WARNING, and mapping_status says why in
-- schedule_error. (In this test instance the launcher watches the "postgres"
-- database, not this one.)
SET client_min_messages = warning;
CREATE TABLE public.se_items (id int PRIMARY KEY);
INSERT INTO public.se_items VALUES (1), (2), (3);
SELECT reverse_etl.create_model('se_items', 'SELECT id FROM public.se_items', 'id');
SELECT reverse_etl.create_destination('se_hook', 'webhook', jsonb_build_object('url', mock_url('/se')),
                                      enabled => true);
SELECT reverse_etl.create_mapping('se_items', 'se_hook', 'send', '{"id": "id"}', name => 'se_good',
                                  schedule => '1 hour', enabled => true);
SELECT reverse_etl.create_mapping('se_items', 'se_hook', 'send', '{"id": "id"}', name => 'se_bad_zone',
                                  schedule => 'daily 06:00', enabled => true);
SELECT reverse_etl.create_mapping('se_items', 'se_hook', 'send', '{"id": "id"}', name => 'se_bad_schedule',
                                  schedule => 'daily 06:00', enabled => true);

-- Waits (up to 10 s) until no run of the mapping is queued or running.
CREATE FUNCTION pg_temp.se_wait(mapping_name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..200 LOOP
        IF NOT EXISTS (SELECT 1 FROM reverse_etl.sync_runs r
                        WHERE r.mapping = mapping_name AND r.status IN ('queued', 'running')) THEN
            RETURN;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RAISE EXCEPTION 'runs of % did not finish', mapping_name;
END $$;

-- Break two mappings the way only a direct catalog write can, and make them
-- due before the good one.
UPDATE reverse_etl.mapping_catalog SET timezone = 'Not/AZone', next_run_at = now() - interval '1 minute'
 WHERE name = 'se_bad_zone';
UPDATE reverse_etl.mapping_catalog SET schedule = 'every blue moon', next_run_at = now() - interval '2 minutes'
 WHERE name = 'se_bad_schedule';
SELECT mock_reset();

-- One WARNING per broken mapping; the good one is queued and started.
SELECT reverse_etl.run_due_syncs() AS started;
SELECT pg_temp.se_wait('se_good');
SELECT mapping, last_status, next_run_at IS NULL AS next_run_unknown, schedule_error
  FROM reverse_etl.mapping_status WHERE mapping LIKE 'se\_%' ORDER BY mapping;
SELECT count(*) AS records_received FROM mock_records();
-- Nothing was queued for the broken mappings, and the next call neither
-- warns again nor queues anything.
SELECT count(*) AS runs_of_broken FROM reverse_etl.sync_runs WHERE mapping IN ('se_bad_zone', 'se_bad_schedule');
SELECT reverse_etl.run_due_syncs() AS started;

-- Correcting the time zone, or the schedule, plans the mapping again and
-- clears the error.
SELECT reverse_etl.alter_mapping('se_bad_zone', timezone => 'Europe/Paris');
SELECT reverse_etl.alter_mapping('se_bad_schedule', schedule => 'weekdays 08:00');
SELECT mapping, next_run_at > now() AS planned, schedule_error
  FROM reverse_etl.mapping_status WHERE mapping LIKE 'se\_bad%' ORDER BY mapping;

-- Broken again and due: disabling and enabling it again brings back the
-- error of its schedule, now to the caller of enable_mapping (22023).
UPDATE reverse_etl.mapping_catalog SET schedule = 'every blue moon', next_run_at = now() - interval '1 minute'
 WHERE name = 'se_bad_schedule';
SELECT reverse_etl.run_due_syncs() AS started;
SELECT reverse_etl.disable_mapping('se_bad_schedule');
SELECT schedule_error FROM reverse_etl.mapping_status WHERE mapping = 'se_bad_schedule';
SELECT reverse_etl.enable_mapping('se_bad_schedule');
\echo :LAST_ERROR_SQLSTATE

SELECT reverse_etl.drop_destination('se_hook', cascade => true);
SELECT reverse_etl.drop_model('se_items');
DROP TABLE public.se_items;
