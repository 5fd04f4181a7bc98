-- Mappings: create (names, sync modes, fields, filter, schedule, timezone),
-- alter, enable/disable, duplicate, drop, suggestions, and dependencies on
-- models and destinations.
SELECT reverse_etl.create_model('m_users',
    'SELECT id, email, first_name, last_name, plan, mrr, signed_up_at, consent_marketing, traits FROM public.users',
    'id');
SELECT reverse_etl.create_model('m_orders', 'SELECT order_id, user_id, total, items, ordered_at FROM public.orders',
    'order_id');
SELECT reverse_etl.create_destination('m_segment', 'segment', '{"write_key": "wk"}', enabled => true);
SELECT reverse_etl.create_destination('m_hook', 'webhook', '{"url": "http://127.0.0.1:18080/m"}');

-- Default name from the action, with a suffix when taken; default sync mode.
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify',
    '{"userId": "id", "traits": {"object": {"email": "email", "plan": "plan"}}}');
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": "id"}');
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"anonymousId": "email"}');
-- Every spec form, on a free-field webhook action.
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', $f${
    "id": "id",
    "email": {"column": "email", "sync_nulls": false},
    "company": {"column": "traits", "path": "company"},
    "source": {"value": "postgres"},
    "greeting": {"template": "Hi {{first_name}} {{ last_name }}"},
    "profile": {"object": {"plan": "plan", "mrr": {"column": "mrr"}}},
    "all_traits": {"select_object": "traits"},
    "change": {"meta": "change"},
    "synced": {"meta": "synced_at"}
}$f$, sync_mode => 'all', name => 'everything');
SELECT reverse_etl.create_mapping('m_orders', 'm_hook', 'send', $f${
    "order": "order_id",
    "lines": {"array": "items", "items": {"product": {"prop": "sku"}, "quantity": {"prop": "qty"}}},
    "raw_items": {"select_array": "items"}
}$f$, name => 'orders to hook');
-- Segment track with a filter and a day-and-time schedule.
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'track',
    '{"userId": "id", "event": {"value": "Upgraded"}, "properties": {"object": {"plan": "plan"}}}',
    filter => 'plan = ''pro'' AND consent_marketing', schedule => 'weekdays 08:00',
    timezone => 'Europe/Paris', name => 'pro upgrades');
SELECT name, model, destination, action, sync_mode, filter, schedule, timezone, enabled, owner, next_run_at IS NULL AS no_next_run
  FROM reverse_etl.mappings ORDER BY name;
-- Each mapping has an (empty) checkpoint table of its own.
SELECT count(*) FILTER (WHERE tablename LIKE 'checkpoint\_%') AS checkpoint_tables,
       count(*) FILTER (WHERE tablename LIKE 'sending\_%') AS sending_tables
  FROM pg_tables WHERE schemaname = 'reverse_etl_state';

-- Sync modes: the action's set only; the hint lists it.
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": "id"}', sync_mode => 'upsert');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": "id"}', sync_mode => 'deleted', name => 'leavers');
SELECT sync_mode FROM reverse_etl.mappings WHERE name = 'leavers';

-- Unknown action, field, column; unmapped required fields; wrong shapes.
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identfy', '{"userId": "id"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'alias', '{"userId": "id"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userid": "id"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": "id", "email": "email"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": "idd"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": "id", "traits": {"object": {"e": "emial"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', '{"hi": {"template": "Hi {{frist_name}}"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'track', '{"userId": "id"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"traits": {"select_object": "traits"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": {"select_object": "traits"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": "id", "traits": {"select_array": "traits"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": {"colum": "id"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": {"column": "id", "value": 1}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": {"meta": "recordid"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": {"column": "mrr", "path": "a.b"}}');
\echo :LAST_ERROR_SQLSTATE
-- Customize-array items: "name" is short for {"prop": "name"}; a bad path or
-- an item that is neither is refused.
SELECT reverse_etl.create_mapping('m_orders', 'm_hook', 'send', '{"lines": {"array": "items", "items": {"p": "a..b"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_orders', 'm_hook', 'send', '{"lines": {"array": "items", "items": {"p": 5}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{"userId": "id", "traits": {"value": 1, "sync_nulls": "no"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '[]');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_segment', 'identify', '{}');
\echo :LAST_ERROR_SQLSTATE

-- Filters: one boolean expression over the model's columns.
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', '{"id": "id"}', filter => 'plann = ''pro''');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', '{"id": "id"}', filter => 'mrr + 1');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', '{"id": "id"}', filter => 'true) OR (true');  -- harmless: it is one expression
SELECT reverse_etl.drop_mapping('Send');
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', '{"id": "id"}', filter => 'true; DROP TABLE public.users');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', '{"id": "id"}', filter => 'true) UNION SELECT 1 --');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', '{"id": "id"}', filter => 'true ORDER BY 1');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', '{"id": "id"}', filter => 'id IN (SELECT user_id FROM public.orders)', name => 'buyers');

-- Schedules and time zones (schedules.sql covers every form).
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', '{"id": "id"}', schedule => 'every tuesday');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', '{"id": "id"}', timezone => 'Mars/Olympus_Mons');
\echo :LAST_ERROR_SQLSTATE

-- Names.
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', '{"id": "id"}', name => 'everything');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'm_hook', 'send', '{"id": "id"}', name => '');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('nobody', 'm_hook', 'send', '{"id": "id"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('m_users', 'nowhere', 'send', '{"id": "id"}');
\echo :LAST_ERROR_SQLSTATE
-- None of the failed calls left anything behind.
SELECT count(*) AS mappings FROM reverse_etl.mappings;
SELECT count(*) FILTER (WHERE tablename LIKE 'checkpoint\_%') AS checkpoint_tables,
       count(*) FILTER (WHERE tablename LIKE 'sending\_%') AS sending_tables
  FROM pg_tables WHERE schemaname = 'reverse_etl_state';

-- Enable/disable: next_run_at needs both the mapping and its destination.
SELECT reverse_etl.alter_mapping('everything', schedule => '15 minutes');
SELECT reverse_etl.enable_mapping('everything');
SELECT enabled, next_run_at IS NULL AS no_next_run FROM reverse_etl.mappings WHERE name = 'everything';
SELECT reverse_etl.enable_destination('m_hook');
-- An interval mapping is due as soon as both are enabled.
SELECT next_run_at <= now() AS due FROM reverse_etl.mappings WHERE name = 'everything';
SELECT reverse_etl.disable_destination('m_hook');
SELECT next_run_at IS NULL AS no_next_run FROM reverse_etl.mappings WHERE name = 'everything';
SELECT reverse_etl.enable_destination('m_hook');
SELECT reverse_etl.disable_mapping('everything');
SELECT enabled, next_run_at IS NULL AS no_next_run FROM reverse_etl.mappings WHERE name = 'everything';
SELECT reverse_etl.enable_mapping('pro upgrades');
SELECT next_run_at = (SELECT t FROM reverse_etl.next_run_times('weekdays 08:00', 'Europe/Paris', now(), 1) AS t) AS next_weekday_0800_paris
  FROM reverse_etl.mappings WHERE name = 'pro upgrades';

-- Alter keeps what is not named; bad values change nothing.
SELECT reverse_etl.alter_mapping('pro upgrades', sync_mode => 'added_or_updated', filter => 'plan = ''pro''',
    timezone => 'America/New_York', new_name => 'pro users');
SELECT name, action, sync_mode, filter, schedule, timezone, enabled FROM reverse_etl.mappings WHERE name = 'pro users';
SELECT reverse_etl.alter_mapping('pro users', filter => '');
SELECT filter IS NULL AS no_filter FROM reverse_etl.mappings WHERE name = 'pro users';
SELECT reverse_etl.alter_mapping('pro users', fields => '{"userId": "id", "event": {"template": "Plan {{plan}}"}}');
SELECT fields FROM reverse_etl.mappings WHERE name = 'pro users';
SELECT reverse_etl.alter_mapping('pro users', fields => '{"userId": "id"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_mapping('pro users', sync_mode => 'mirror');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_mapping('pro users', schedule => '30 seconds');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_mapping('pro users', new_name => 'everything');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_mapping('ghost', schedule => 'manual');
\echo :LAST_ERROR_SQLSTATE
SELECT name, sync_mode, fields, schedule FROM reverse_etl.mappings WHERE name = 'pro users';

-- Duplicate: a disabled copy without the checkpoint.
SELECT reverse_etl.duplicate_mapping('pro users');
SELECT reverse_etl.duplicate_mapping('pro users');
SELECT reverse_etl.duplicate_mapping('pro users', new_name => 'pro users EU');
SELECT reverse_etl.duplicate_mapping('pro users', new_name => 'pro users EU');
\echo :LAST_ERROR_SQLSTATE
SELECT name, action, sync_mode, fields, schedule, timezone, enabled, next_run_at IS NULL AS no_next_run
  FROM reverse_etl.mappings WHERE name LIKE 'pro users%' ORDER BY name;

-- Suggestions for each field of an action.
SELECT * FROM reverse_etl.suggest_mappings('m_users', 'm_segment', 'identify');
SELECT * FROM reverse_etl.suggest_mappings('m_orders', 'm_segment', 'track');
SELECT * FROM reverse_etl.suggest_mappings('m_orders', 'm_hook', 'send');
SELECT * FROM reverse_etl.suggest_mappings('m_orders', 'm_hook', 'nope');
\echo :LAST_ERROR_SQLSTATE

-- A model's new query must keep every column its mappings use.
SELECT reverse_etl.alter_model('m_orders', query => 'SELECT order_id, user_id, total, ordered_at FROM public.orders');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_model('m_users', query => 'SELECT id, email, first_name, last_name, mrr, signed_up_at, consent_marketing, traits FROM public.users');
\echo :LAST_ERROR_SQLSTATE
-- A query that keeps them is fine, and keeps the checkpoints.
SELECT reverse_etl.alter_model('m_orders', query => 'SELECT order_id, user_id, total, items, ordered_at, 1 AS version FROM public.orders');
-- A new primary key resets the checkpoints of the model's mappings.
SELECT format('reverse_etl_state.checkpoint_%s', mapping_id) AS orders_checkpoint
  FROM reverse_etl.mapping_catalog WHERE name = 'orders to hook' \gset
INSERT INTO :orders_checkpoint VALUES ('o-1', 42, 1);
SELECT count(*) AS checkpoint_rows FROM :orders_checkpoint;
SELECT reverse_etl.alter_model('m_orders', primary_key => 'user_id');
SELECT count(*) AS checkpoint_rows FROM :orders_checkpoint;

-- Dropping a model or destination that mappings use.
SELECT reverse_etl.drop_model('m_orders');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.drop_destination('m_segment');
\echo :LAST_ERROR_SQLSTATE
SELECT to_regclass(:'orders_checkpoint') IS NOT NULL AS checkpoint_exists;
SELECT reverse_etl.drop_model('m_orders', cascade => true);
SELECT name FROM reverse_etl.mappings WHERE model = 'm_orders';
SELECT to_regclass(:'orders_checkpoint') IS NULL AS checkpoint_dropped;
SELECT reverse_etl.drop_mapping('pro users (copy)');
SELECT reverse_etl.drop_mapping('pro users (copy)');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.drop_destination('m_segment', cascade => true);
SELECT reverse_etl.drop_destination('m_hook', cascade => true);
SELECT reverse_etl.drop_model('m_users');
SELECT count(*) AS mappings FROM reverse_etl.mappings;
SELECT count(*) FILTER (WHERE tablename LIKE 'checkpoint\_%') AS checkpoint_tables,
       count(*) FILTER (WHERE tablename LIKE 'sending\_%') AS sending_tables
  FROM pg_tables WHERE schemaname = 'reverse_etl_state';
