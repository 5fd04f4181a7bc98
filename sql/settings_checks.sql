-- reverse_etl.history_retention, allowed_hosts and blocked_networks are
-- checked when they are set (SET, ALTER ROLE/DATABASE ... SET, ALTER SYSTEM,
-- postgresql.conf): a value that runs could not use is refused then, with
-- 22023, instead of making every run that reads it fail. Needs sync_setup.
--
-- NOTICEs of sync() name run ids, which depend on the tests run before: hide them.
SET client_min_messages = warning;

-- 1. history_retention must be an interval PostgreSQL reads...
SET reverse_etl.history_retention = 'banana';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.history_retention = '';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.history_retention = '30 dayz';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.history_retention = 'infinity';
\echo :LAST_ERROR_SQLSTATE
-- ... that is not negative: the run that just ended would be deleted with
-- all the others, and sync() could not return it...
SET reverse_etl.history_retention = '-1';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.history_retention = '1 day ago';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.history_retention = '-300000 years';
\echo :LAST_ERROR_SQLSTATE
-- ... and that reaches no further back than PostgreSQL's timestamps go.
SET reverse_etl.history_retention = '10000 years';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.history_retention = '300000000 years';
\echo :LAST_ERROR_SQLSTATE
-- The same check refuses ALTER ROLE ... SET (which the sync workers read)
-- and ALTER SYSTEM.
ALTER ROLE CURRENT_USER SET reverse_etl.history_retention = 'banana';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET reverse_etl.history_retention = '-1 day';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM RESET reverse_etl.history_retention;
-- Refused values changed nothing.
SHOW reverse_etl.history_retention;
SELECT count(*) AS role_settings FROM pg_catalog.pg_db_role_setting s
 WHERE s.setrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
   AND pg_catalog.array_to_string(s.setconfig, ',') LIKE '%reverse_etl.history_retention%';

-- 2. Every form of interval input is accepted, from 0 (keep only the run
-- that just ended) to thousands of years.
SELECT v AS value, pg_catalog.set_config('reverse_etl.history_retention', v, false) AS set_to
  FROM pg_catalog.unnest(ARRAY['90 days', 'P1Y2M', '1-6', '@ 2 weeks', '36:00:00', '1.5 days',
                               ' 1 day ', '0', '00:00:00.000001', '5000 years']) AS v;
RESET reverse_etl.history_retention;
-- Values are read as the sync workers read them, under IntervalStyle
-- 'postgres': there '-0 1:00:00' is one hour (under sql_standard, minus one).
SET IntervalStyle = sql_standard;
SET reverse_etl.history_retention = '-0 1:00:00';
SHOW reverse_etl.history_retention;
RESET IntervalStyle;
RESET reverse_etl.history_retention;

-- 3. SET accepts exactly the values that pruning can use: PostgreSQL reads
-- them as an interval, now() minus it is a timestamp, and not a later one.
CREATE FUNCTION public.sc_verdict(v text, OUT accepted boolean, OUT usable boolean)
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        PERFORM pg_catalog.set_config('reverse_etl.history_retention', v, true);
        accepted := true;
    EXCEPTION WHEN invalid_parameter_value THEN
        accepted := false;
    END;
    BEGIN
        usable := pg_catalog.now() - v::interval <= pg_catalog.now();
    EXCEPTION WHEN OTHERS THEN
        usable := false;
    END;
END $$;
SELECT CASE WHEN length(v) > 30 THEN left(v, 8) || '... (' || length(v) || ' bytes)' ELSE v END AS value,
       (public.sc_verdict(v)).*
  FROM pg_catalog.unnest(ARRAY['30 days', '0', '-0', 'P1D', 'P0001-02-03T04:05:06', '1 day -1 hour',
                               '6000 years', '178956970 years', '2147483647 days', '1 mon 2147483647 days',
                               '-1 second', '-1 day 1 hour', '1 day 1 day', 'now', 'epoch', '5 apples',
                               '1.' || pg_catalog.repeat('0', 240) || ' day',
                               '1.' || pg_catalog.repeat('0', 260) || ' day']) AS v;
-- (The long texts: interval input has room for 256 bytes of fields.)

-- 4. A sync still works. The refused ALTER ROLE above left the default (30
-- days) for the workers; a good value set the same way is what they prune by.
CREATE TABLE public.sc_items (id int PRIMARY KEY, label text);
INSERT INTO public.sc_items VALUES (1, 'one');
SELECT reverse_etl.create_model('sc_items', 'SELECT id, label FROM public.sc_items', 'id');
SELECT reverse_etl.create_destination('sc_hook', 'webhook', jsonb_build_object('url', mock_url('/sc')), enabled => true);
SELECT reverse_etl.create_mapping('sc_items', 'sc_hook', 'send', '{"zeta": "label", "id": "id", "alpha": "label"}',
                                  name => 'sc_map');
-- Finished runs from 2 years, 6 months and 7 days ago, as if they had happened.
CREATE FUNCTION public.sc_old_runs() RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reverse_etl.run_catalog (mapping_id, trigger, status, queued_at, started_at, finished_at)
    SELECT mapping_id, 'schedule', 'succeeded', now() - d, now() - d, now() - d + interval '1 minute'
      FROM reverse_etl.mapping_catalog, (VALUES (interval '2 years'), (interval '6 months'), (interval '7 days')) AS v(d)
     WHERE name = 'sc_map'
$$;
CREATE FUNCTION public.sc_history() RETURNS TABLE(trigger text, status text, age text)
LANGUAGE sql AS $$
    SELECT trigger, status,
           CASE WHEN finished_at < now() - interval '1 year' THEN 'over a year'
                WHEN finished_at < now() - interval '30 days' THEN 'over 30 days'
                ELSE 'recent' END
      FROM reverse_etl.sync_runs WHERE mapping = 'sc_map' ORDER BY run_id
$$;
SELECT public.sc_old_runs();
SELECT mock_reset();
SELECT status, records_succeeded, error FROM reverse_etl.sync('sc_map');
SELECT * FROM public.sc_history();
ALTER ROLE CURRENT_USER SET reverse_etl.history_retention = '1 year';
SELECT public.sc_old_runs();
UPDATE public.sc_items SET label = 'uno';
SELECT status, records_succeeded, error FROM reverse_etl.sync('sc_map');
SELECT * FROM public.sc_history();
ALTER ROLE CURRENT_USER RESET reverse_etl.history_retention;
-- The payload's keys come in jsonb's order (shorter keys first), not in the
-- order the fields were written: fields is a jsonb argument.
SELECT r->>'body' AS body FROM mock_requests() AS r ORDER BY (r->>'seq')::int;

-- 5. allowed_hosts and blocked_networks: entries are trimmed of spaces, tabs
-- and line breaks, and empty ones are skipped, when set and when a run reads
-- them alike (a run used to fail on an entry of line breaks that SET took).
SET reverse_etl.allowed_hosts = E'127.0.0.1,\n';
SET reverse_etl.blocked_networks = E'127.0.0.0/8,\r\n::1/128, \t';
UPDATE public.sc_items SET label = 'eins';
SELECT mock_reset();
SELECT status, records_succeeded, error FROM reverse_etl.sync('sc_map');
SELECT count(*) AS requests FROM mock_requests();
-- Entries the request check could not read are refused when set.
SET reverse_etl.allowed_hosts = '127.0.0.1, *.';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.allowed_hosts = 'api.example.com:0';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.allowed_hosts = '[::1';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.blocked_networks = E'10.0.0.0/8\n192.168.0.0/16';
\echo :LAST_ERROR_SQLSTATE
RESET reverse_etl.allowed_hosts;
RESET reverse_etl.blocked_networks;

SELECT reverse_etl.drop_destination('sc_hook', cascade => true);
SELECT reverse_etl.drop_model('sc_items');
DROP TABLE public.sc_items;
DROP FUNCTION public.sc_verdict(text);
DROP FUNCTION public.sc_old_runs();
DROP FUNCTION public.sc_history();
