-- pg_dump carries models, destinations (with their secrets) and mappings, with
-- their owners and sync state, so a restored database keeps its syncs
-- (SPEC section 9). Dumps this database with pg_dump -Fc, restores it into a
-- new one with pg_restore, and compares.

-- A set with two owners: the superuser, and an analyst whose objects must come
-- back as hers.
CREATE ROLE regress_dr_analyst;
GRANT USAGE ON SCHEMA reverse_etl TO regress_dr_analyst;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO regress_dr_analyst;
GRANT SELECT ON public.users TO regress_dr_analyst;

SELECT reverse_etl.create_model(name => 'dr users',
    query => 'SELECT id, email, first_name, plan, consent_marketing FROM users ORDER BY id',
    primary_key => 'id', description => 'Every user');
SELECT reverse_etl.create_destination(name => 'dr webhook', type => 'webhook', enabled => true,
    settings => '{"url": "https://hooks.example.com/dr/{{record_id}}", "method": "PUT",
                  "bearer_token": "tok-dr-s3cr3t", "headers": {"X-Api-Key": "hdr-dr-s3cr3t"},
                  "basic_username": "dr-user", "basic_password": "pw-dr-s3cr3t",
                  "signing_secret": "sig-dr-s3cr3t", "batch_size": 1, "timeout": "5 seconds"}');
SELECT reverse_etl.create_destination(name => 'dr segment', type => 'segment',
    settings => '{"write_key": "wk-dr-s3cr3t", "endpoint": "https://segment.example.com"}');
-- Enabled, with a filter, an interval schedule and a time zone: next_run_at is set.
SELECT reverse_etl.create_mapping(model => 'dr users', destination => 'dr webhook', action => 'send',
    fields => '{"email": "email", "name": {"template": "Hi {{first_name}}"}, "change": {"meta": "change"}}',
    sync_mode => 'all', schedule => '15 minutes', name => 'dr pro users', filter => $$plan = 'pro'$$,
    timezone => 'Europe/Paris', enabled => true);
-- Enabled, but its destination is disabled: next_run_at is NULL.
SELECT reverse_etl.create_mapping(model => 'dr users', destination => 'dr segment', action => 'identify',
    fields => '{"userId": "id", "traits": {"object": {"email": "email", "plan": "plan"}}}',
    schedule => 'weekdays 08:00', name => 'dr identify', timezone => 'America/New_York', enabled => true);
-- Disabled, with a cron schedule and a boolean-column filter.
SELECT reverse_etl.create_mapping(model => 'dr users', destination => 'dr webhook', action => 'send',
    fields => '{"id": "id"}', sync_mode => 'added', schedule => '*/20 * * * *', name => 'dr consent',
    filter => 'consent_marketing', timezone => 'Asia/Tokyo');
SET ROLE regress_dr_analyst;
SELECT reverse_etl.create_model(name => 'dr analyst model', query => 'SELECT id, email FROM public.users ORDER BY id',
    primary_key => 'id');
SELECT reverse_etl.create_destination(name => 'dr analyst hook', type => 'webhook',
    settings => '{"url": "https://hooks.example.com/analyst", "bearer_token": "tok-analyst-s3cr3t"}');
SELECT reverse_etl.create_mapping(model => 'dr analyst model', destination => 'dr analyst hook',
    action => 'send', fields => '{"email": "email"}', name => 'dr analyst mapping', schedule => '1 day');
RESET ROLE;
-- Sync state: a record "dr pro users" has already delivered. The function
-- reads a mapping's checkpoint table; it is dumped and restored as well.
CREATE FUNCTION public.dr_checkpoint(mapping text)
    RETURNS TABLE (record_id text, hash bigint, version bigint, unconfirmed "char")
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT record_id, hash, version, unconfirmed FROM reverse_etl_state.checkpoint_%s',
        (SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = mapping));
END $$;
DO $$
BEGIN
    EXECUTE format('INSERT INTO reverse_etl_state.checkpoint_%s VALUES (''1'', 42, 7, ''a'')',
        (SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = 'dr pro users'));
END $$;

-- The same queries run here and in the restored database.
\set show_models 'SELECT name, query, primary_key, columns, description, owner FROM reverse_etl.models WHERE name LIKE ''dr %'' ORDER BY name'
\set show_secrets 'SELECT name, type, settings, enabled, owner FROM reverse_etl.destination_catalog WHERE name LIKE ''dr %'' ORDER BY name'
\set show_mappings 'SELECT name, model, destination, action, sync_mode, fields, filter, schedule, timezone, enabled, owner, next_run_at IS NOT NULL AS has_next_run FROM reverse_etl.mappings WHERE name LIKE ''dr %'' ORDER BY name'
\set show_checkpoints 'SELECT name, to_regclass(format(''reverse_etl_state.checkpoint_%s'', mapping_id)) IS NOT NULL AS has_checkpoint FROM reverse_etl.mapping_catalog WHERE name LIKE ''dr %'' ORDER BY name'
:show_models;
:show_secrets;
:show_mappings;
:show_checkpoints;
SELECT * FROM public.dr_checkpoint('dr pro users');
-- Ids and schedule times, to compare after the restore.
SELECT string_agg(name || '=' || mapping_id, ', ' ORDER BY name) AS ids_before,
       (SELECT next_run_at FROM reverse_etl.mapping_catalog WHERE name = 'dr pro users') AS next_run_before,
       (SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = 'dr pro users') AS pro_users_id,
       (SELECT last_value FROM reverse_etl.mapping_catalog_mapping_id_seq) AS last_id_before
  FROM reverse_etl.mapping_catalog WHERE name LIKE 'dr %' \gset

-- Dump, create a database, restore into it (any error would show here).
SELECT '/tmp/reverse_etl_dump_restore_' || pg_backend_pid() || '.dump' AS dump_file \gset
\setenv REVERSE_ETL_DUMP :dump_file
\! pg_dump -Fc -f "$REVERSE_ETL_DUMP" contrib_regression
\! createdb contrib_regression_restored
\! pg_restore -d contrib_regression_restored "$REVERSE_ETL_DUMP"
\c contrib_regression_restored

-- Everything is back, as it was: models, destinations with their secrets as
-- given (read from the catalog as superuser), mappings with their owners,
-- schedules and next run, ids, and the checkpoint tables with their rows.
:show_models;
:show_secrets;
:show_mappings;
:show_checkpoints;
SELECT * FROM public.dr_checkpoint('dr pro users');
SELECT string_agg(name || '=' || mapping_id, ', ' ORDER BY name) = :'ids_before' AS same_ids,
       (SELECT next_run_at FROM reverse_etl.mapping_catalog WHERE name = 'dr pro users') = :'next_run_before'
           AS same_next_run
  FROM reverse_etl.mapping_catalog WHERE name LIKE 'dr %';
-- The views still mask the secrets.
SELECT name, settings FROM reverse_etl.destinations WHERE name LIKE 'dr %' ORDER BY name;

-- The functions work on the restored catalog: a preview, a new mapping (its id
-- does not collide with restored ones), a settings change that keeps the
-- secrets, a drop that removes the checkpoint table.
SELECT * FROM reverse_etl.preview_model('dr users', row_limit => 2);
SELECT reverse_etl.create_mapping(model => 'dr users', destination => 'dr webhook', action => 'send',
    fields => '{"email": "email"}', name => 'dr after restore');
SELECT mapping_id > :last_id_before AS new_id_after_every_id_given_before_the_dump
  FROM reverse_etl.mapping_catalog WHERE name = 'dr after restore';
SELECT reverse_etl.alter_destination(name => 'dr webhook', settings => '{"batch_size": 50}');
SELECT settings->>'bearer_token' AS bearer_token, settings->'batch_size' AS batch_size
  FROM reverse_etl.destination_catalog WHERE name = 'dr webhook';
SELECT reverse_etl.drop_mapping('dr pro users');
SELECT to_regclass('reverse_etl_state.checkpoint_' || :pro_users_id) IS NULL AS checkpoint_dropped;
:show_checkpoints;
-- Grants and visibility came back too: the analyst sees and uses only her objects.
SET ROLE regress_dr_analyst;
SELECT name, owner FROM reverse_etl.models WHERE name LIKE 'dr %' ORDER BY name;
SELECT name, owner FROM reverse_etl.mappings WHERE name LIKE 'dr %' ORDER BY name;
SELECT * FROM reverse_etl.preview_model('dr analyst model', row_limit => 1);
SELECT reverse_etl.preview_model('dr users');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- Clean up: the restored database, the dump, and the set here.
\c contrib_regression
DROP DATABASE contrib_regression_restored;
\! rm -f "$REVERSE_ETL_DUMP"
SELECT reverse_etl.drop_model('dr analyst model', cascade => true);
SELECT reverse_etl.drop_destination('dr analyst hook');
SELECT reverse_etl.drop_model('dr users', cascade => true);
SELECT reverse_etl.drop_destination('dr webhook');
SELECT reverse_etl.drop_destination('dr segment');
DROP FUNCTION public.dr_checkpoint(text);
DROP OWNED BY regress_dr_analyst;
DROP ROLE regress_dr_analyst;
