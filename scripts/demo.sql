-- reverse_etl demo: a model over a users table, a preview, a webhook
-- destination, suggested field mappings, and a mapping.
\pset pager off
CREATE EXTENSION reverse_etl;

-- Sample data: the users table a product team wants in its CRM.
CREATE TABLE public.users (
    id         bigint PRIMARY KEY,
    email      text NOT NULL,
    first_name text,
    plan       text NOT NULL,
    signed_up  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO public.users (id, email, first_name, plan) VALUES
    (1, 'ann@example.com', 'Ann', 'pro'),
    (2, 'bob@example.com', 'Bob', 'free'),
    (3, 'cy@example.com', 'Cy', 'pro');

-- 1. A model: one read-only query plus the column that identifies each record.
SELECT reverse_etl.create_model(
    name        => 'active users',
    query       => 'SELECT id, email, first_name, plan FROM public.users',
    primary_key => 'id');
SELECT * FROM reverse_etl.preview_model('active users', row_limit => 3);

-- 2. A destination: a webhook (here a local mock that records requests).
SELECT reverse_etl.create_destination(
    name     => 'crm webhook',
    type     => 'webhook',
    settings => jsonb_build_object(
        'url', 'http://127.0.0.1:' || :'mock_port' || '/users',
        'bearer_token', 'demo-secret-token'),
    enabled  => true);
SELECT name, type, settings, enabled FROM reverse_etl.destinations;

-- 3. Which columns fit the action's fields? (The webhook's fields are free.)
SELECT reverse_etl.create_destination('segment', 'segment', '{"write_key": "demo-key"}');
SELECT * FROM reverse_etl.suggest_mappings('active users', 'segment', 'identify');

-- 4. A mapping: which records go and how columns become fields. It starts
--    'manual' so that only the syncs below run it; step 8 gives it a schedule.
SELECT reverse_etl.create_mapping(
    model       => 'active users',
    destination => 'crm webhook',
    action      => 'send',
    fields      => '{"user_id": "id", "email": "email",
                     "profile": {"object": {"first_name": "first_name", "plan": "plan"}}}',
    sync_mode   => 'added_or_updated',
    filter      => 'plan = ''pro''',
    schedule    => 'manual',
    enabled     => true);
SELECT name, model, destination, action, sync_mode, filter, schedule, enabled,
       next_run_at IS NOT NULL AS scheduled
  FROM reverse_etl.mappings;

-- 5. Sync now. The run happens in a background worker that commits its own
--    progress; NOTICEs show it moving, and the run's row comes back.
SELECT run_id, status, records_extracted, records_added, records_selected,
       records_succeeded, requests_sent
  FROM reverse_etl.sync('Send');

-- 6. Change the data: only the difference goes out on the next run.
UPDATE public.users SET plan = 'pro' WHERE id = 2;      -- enters the filter: added
UPDATE public.users SET first_name = 'Annie' WHERE id = 1;  -- mapped column: updated
UPDATE public.users SET signed_up = now() WHERE id = 3;  -- unmapped column: unchanged
SELECT * FROM reverse_etl.preview_mapping('Send');
SELECT run_id, status, records_added, records_updated, records_unchanged, records_succeeded
  FROM reverse_etl.sync('Send');

-- 7. History and the dashboard.
SELECT run_id, trigger, status, records_selected, records_succeeded, error FROM reverse_etl.sync_runs ORDER BY run_id;
SELECT mapping, destination, schedule, last_status, failing_records FROM reverse_etl.mapping_status;

-- 8. Hand it to the background worker: from now on it runs every 15 minutes.
--    A newly scheduled mapping is due at once, so the worker's first run starts
--    within seconds; nothing changed since run 2, so it sends nothing.
SELECT reverse_etl.alter_mapping('Send', schedule => '15 minutes');
DO $$
BEGIN
    FOR attempt IN 1..600 LOOP   -- at most a minute
        EXIT WHEN EXISTS (SELECT FROM reverse_etl.sync_runs
                           WHERE trigger = 'schedule' AND status <> 'running');
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT run_id, trigger, status, records_unchanged, records_selected, requests_sent
  FROM reverse_etl.sync_runs ORDER BY run_id;
SELECT name, schedule, enabled, next_run_at > now() + interval '14 minutes' AS next_run_in_15_minutes
  FROM reverse_etl.mappings;
