-- Live syncs (SPEC section 4, "Schedules"; docs/live-syncs.md): what
-- create_mapping, alter_mapping and alter_model accept for schedule 'live',
-- the tables whose changes a live mapping captures, what the capture trigger
-- records, and the errors. The mappings stay disabled, so the launcher runs
-- none of them: sync() runs them here. Changes delivered seconds after they
-- commit, rollbacks, a crash and disabling are in test/t/033_live_syncs.pl.
-- Every error is followed by its SQLSTATE.
CREATE TABLE public.live_users (id int PRIMARY KEY, email text, plan text);
CREATE TABLE public.live_orders (id int PRIMARY KEY, user_id int, amount numeric);
INSERT INTO public.live_users VALUES (1, 'ann@live.test', 'pro'), (2, 'bob@live.test', 'free');
INSERT INTO public.live_orders VALUES (1, 1, 10), (2, 1, 5);
CREATE VIEW public.live_user_totals AS
SELECT u.id, u.email, coalesce(sum(o.amount), 0) AS total
  FROM public.live_users u LEFT JOIN public.live_orders o ON o.user_id = u.id GROUP BY u.id, u.email;
CREATE TABLE public.live_events (id int, at timestamptz) PARTITION BY RANGE (at);
CREATE TABLE public.live_events_2026 PARTITION OF public.live_events
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE MATERIALIZED VIEW public.live_plans AS SELECT DISTINCT plan AS id FROM public.live_users;

SELECT reverse_etl.create_destination('live hook', 'webhook', jsonb_build_object('url', public.mock_url('/live')),
                                      enabled => true);
SELECT reverse_etl.create_model('live totals', 'SELECT * FROM public.live_user_totals', 'id');
SELECT reverse_etl.create_model('live events', 'SELECT id FROM public.live_events', 'id');
SELECT reverse_etl.create_model('live plans', 'SELECT id FROM public.live_plans', 'id');
SELECT reverse_etl.create_model('live constant', 'SELECT 1 AS id', 'id');

-- 'live' in any case and spacing; no next_run_at; the mapping is pending: its
-- first run sets the capture up and sends what the model holds.
SELECT reverse_etl.create_mapping('live totals', 'live hook', 'send', '{"id": "id", "total": "total"}',
                                  schedule => ' LIVE ', name => 'live totals');
SELECT reverse_etl.create_mapping('live events', 'live hook', 'send', '{"id": "id"}',
                                  schedule => 'live', name => 'live events');
SELECT name, schedule, enabled, next_run_at FROM reverse_etl.mappings WHERE name LIKE 'live %' ORDER BY name;
SELECT m.name, p.changes FROM reverse_etl_state.live_pending p JOIN reverse_etl.mapping_catalog m USING (mapping_id)
 ORDER BY m.name;

-- A run (here a manual one) creates the trigger on every table the model
-- reads, through the view and down to each partition, and settles the
-- pending change.
SET client_min_messages = warning;   -- the runs' notices name their ids
SELECT status, records_added FROM reverse_etl.sync('live totals');
SELECT status, records_added FROM reverse_etl.sync('live events');
RESET client_min_messages;
SELECT tgrelid::regclass AS captured_table, tgtype FROM pg_trigger
 WHERE tgname = 'reverse_etl_live_capture' ORDER BY tgrelid::regclass::text;
SELECT m.name, c.relid::regclass AS captured FROM reverse_etl_state.live_capture c
  JOIN reverse_etl.mapping_catalog m USING (mapping_id) ORDER BY m.name, c.relid::regclass::text;
SELECT count(*) AS pending FROM reverse_etl_state.live_pending;

-- The trigger records each changed table once per transaction, as the
-- transaction's own rows: a rollback takes them back, and a table recorded
-- in a subtransaction that rolls back is recorded again.
BEGIN;
INSERT INTO public.live_users VALUES (3, 'cy@live.test', 'pro');
UPDATE public.live_users SET plan = 'free' WHERE id = 3;
DELETE FROM public.live_orders WHERE id = 2;
SELECT relid::regclass AS changed FROM reverse_etl_state.live_change_queue ORDER BY relid::regclass::text;
SAVEPOINT s;
INSERT INTO public.live_events VALUES (1, '2026-06-01');
ROLLBACK TO s;
INSERT INTO public.live_events_2026 VALUES (2, '2026-06-02');
SELECT relid::regclass AS changed FROM reverse_etl_state.live_change_queue ORDER BY relid::regclass::text;
ROLLBACK;
SELECT count(*) AS recorded_after_rollback FROM reverse_etl_state.live_change_queue;

-- Models whose changes no trigger of this database sees, or that read no
-- table, cannot be live.
SELECT reverse_etl.create_mapping('live plans', 'live hook', 'send', '{"id": "id"}', schedule => 'live');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('live constant', 'live hook', 'send', '{"id": "id"}', schedule => 'live');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('live constant', 'live hook', 'send', '{"id": "id"}', name => 'live constant');
SELECT reverse_etl.alter_mapping('live constant', schedule => 'live');
\echo :LAST_ERROR_SQLSTATE
-- A live mapping's model keeps a query whose changes can be captured.
SELECT reverse_etl.alter_model('live events', query => 'SELECT id FROM public.live_plans');
\echo :LAST_ERROR_SQLSTATE
SELECT query FROM reverse_etl.models WHERE name = 'live events';
-- A new query that can be captured: the mapping's capture is set up again
-- by its next run, which is pending.
SELECT reverse_etl.alter_model('live events', query => 'SELECT id FROM public.live_users');
SELECT m.name, c.relid::regclass AS captured FROM reverse_etl_state.live_capture c
  JOIN reverse_etl.mapping_catalog m USING (mapping_id) ORDER BY m.name, c.relid::regclass::text;
SELECT m.name FROM reverse_etl_state.live_pending p JOIN reverse_etl.mapping_catalog m USING (mapping_id);

-- The model's owner needs the TRIGGER privilege on each table that has no
-- capture trigger yet.
CREATE TABLE public.live_secrets (id int PRIMARY KEY, token text);
CREATE ROLE regress_live_owner LOGIN;
GRANT USAGE ON SCHEMA reverse_etl TO regress_live_owner;
GRANT SELECT ON public.live_secrets TO regress_live_owner;
GRANT EXECUTE ON FUNCTION reverse_etl.create_model(text, text, text, text, text),
    reverse_etl.create_destination(text, text, jsonb, boolean),
    reverse_etl.create_mapping(text, text, text, jsonb, text, text, text, text, text, boolean, jsonb, boolean)
    TO regress_live_owner;
SET ROLE regress_live_owner;
SELECT reverse_etl.create_destination('live owner hook', 'webhook', '{"url": "http://127.0.0.1:9/o"}');
SELECT reverse_etl.create_model('live secrets', 'SELECT id FROM public.live_secrets', 'id');
SELECT reverse_etl.create_mapping('live secrets', 'live owner hook', 'send', '{"id": "id"}', schedule => 'live');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT TRIGGER ON public.live_secrets TO regress_live_owner;
SET ROLE regress_live_owner;
SELECT reverse_etl.create_mapping('live secrets', 'live owner hook', 'send', '{"id": "id"}', schedule => 'live',
                                  name => 'live secrets');
RESET ROLE;
-- Its run (a worker connected as the model's owner, who has SELECT and
-- TRIGGER only) creates the trigger; the table is empty: nothing to send.
SELECT reverse_etl.enable_destination('live owner hook');
SET client_min_messages = warning;
SELECT status, records_extracted FROM reverse_etl.sync('live secrets');
RESET client_min_messages;
SELECT tgrelid::regclass AS captured_table FROM pg_trigger
 WHERE tgname = 'reverse_etl_live_capture' AND tgrelid = 'public.live_secrets'::regclass;

-- How a live mapping's runs evaluate its model (mappings.live_mode): for the
-- changed records only when its record id is the key of the table that
-- drives it; else, and why not, a full diff.
CREATE TABLE public.live_notes (id int, body text);
CREATE TABLE public.live_times (at timestamptz PRIMARY KEY);
CREATE VIEW public.live_pro AS SELECT id, email FROM public.live_users WHERE plan = 'pro';
SELECT reverse_etl.create_model(name, query, 'id') FROM (VALUES
    ('mode table', 'SELECT id, email FROM public.live_users'),
    ('mode join', 'SELECT u.id, u.email, o.amount FROM public.live_users u JOIN public.live_orders o ON o.user_id = u.id'),
    ('mode join using', 'SELECT id, email, amount FROM public.live_users JOIN public.live_orders USING (id)'),
    ('mode view', 'SELECT * FROM public.live_pro'),
    ('mode subquery', 'SELECT s.id FROM (SELECT id, email FROM public.live_users WHERE plan = ''free'') s'),
    ('mode aggregate', 'SELECT * FROM public.live_user_totals'),
    ('mode union', 'SELECT id FROM public.live_users UNION ALL SELECT id FROM public.live_orders'),
    ('mode distinct', 'SELECT DISTINCT id FROM public.live_users'),
    ('mode limit', 'SELECT id FROM public.live_users ORDER BY id LIMIT 10'),
    ('mode window', 'SELECT id, rank() OVER (ORDER BY email) AS r FROM public.live_users'),
    ('mode computed', 'SELECT id + 0 AS id FROM public.live_users'),
    ('mode cast', 'SELECT id::oid AS id FROM public.live_users'),
    ('mode outer join', 'SELECT u.id, o.amount FROM public.live_orders o LEFT JOIN public.live_users u ON u.id = o.user_id'),
    ('mode self', 'SELECT id FROM public.live_users WHERE email IN (SELECT email FROM public.live_users WHERE plan = ''pro'')'),
    ('mode now', 'SELECT id FROM public.live_users WHERE now() > ''2020-01-01''::timestamptz'),
    ('mode cte', 'WITH x AS (SELECT id FROM public.live_users) SELECT id FROM x'),
    ('mode partitioned', 'SELECT id FROM public.live_events'),
    ('mode partition', 'SELECT id FROM public.live_events_2026'),
    ('mode inner now', 'SELECT s.id FROM (SELECT id, now() > ''2020-01-01''::timestamptz AS recent FROM public.live_users) s WHERE s.recent'),
    ('mode no index', 'SELECT id FROM public.live_notes'),
    ('mode type', 'SELECT at AS id FROM public.live_times')) AS m(name, query);
SELECT reverse_etl.create_mapping(m.name, 'live hook', 'send', '{"id": "id"}', schedule => 'live', name => m.name)
  FROM reverse_etl.models m WHERE m.name LIKE 'mode %' ORDER BY m.name;
SELECT name, live_mode FROM reverse_etl.mappings WHERE name LIKE 'mode %' ORDER BY name;
-- The mapping's filter counts: one on now(), or one reading the key table
-- again, decides which records there are.
SELECT reverse_etl.create_mapping('mode table', 'live hook', 'send', '{"id": "id"}', schedule => 'live',
                                  name => m.name, filter => m.filter)
  FROM (VALUES ('mode filter', 'email LIKE ''%@live.test'''),
               ('mode filter now', 'now() > ''2020-01-01''::timestamptz'),
               ('mode filter self', 'id IN (SELECT id FROM public.live_users ORDER BY email LIMIT 1)')) AS m(name, filter);
SELECT name, live_mode FROM reverse_etl.mappings WHERE name LIKE 'mode filter%' ORDER BY name;
-- Changing a live mapping's filter gives it its mode for the new filter, and
-- a full diff (the records the change touches did not change themselves).
SELECT reverse_etl.alter_mapping('mode filter now', filter => '');
SELECT m.name, m.live_mode, s.live_next_run FROM reverse_etl.mappings m
  JOIN reverse_etl.mapping_status s ON s.mapping = m.name WHERE m.name = 'mode filter now';
SELECT reverse_etl.drop_mapping(name) FROM reverse_etl.mappings WHERE name LIKE 'mode filter%' ORDER BY name;
-- Its next run will be a full diff (the mapping just became live), which
-- mapping_status says, with no changed record waiting.
SELECT mapping, live_backlog, live_next_run FROM reverse_etl.mapping_status
 WHERE mapping IN ('mode table', 'mode window') ORDER BY mapping;
SELECT reverse_etl.drop_mapping(m.name), reverse_etl.drop_model(m.name)
  FROM reverse_etl.models m WHERE m.name LIKE 'mode %' ORDER BY m.name;
DROP VIEW public.live_pro;
DROP TABLE public.live_notes, public.live_times;

-- The key capture: on the key table of an incremental mapping, each
-- statement that changed rows records their keys (old and new where the
-- key may have changed), in its own transaction; a TRUNCATE records that any
-- row may have changed (ids NULL).
SELECT reverse_etl.create_model('live keyed', 'SELECT id, email FROM public.live_users', 'id');
SELECT reverse_etl.create_mapping('live keyed', 'live hook', 'send', '{"id": "id", "email": "email"}',
                                  schedule => 'live', name => 'live keyed');
SET client_min_messages = warning;
SELECT status, records_extracted FROM reverse_etl.sync('live keyed');
RESET client_min_messages;
SELECT tgname, tgtype FROM pg_trigger WHERE tgrelid = 'public.live_users'::regclass ORDER BY tgname;
BEGIN;
INSERT INTO public.live_users VALUES (10, 'ten@live.test', 'pro'), (11, 'eleven@live.test', 'pro');
UPDATE public.live_users SET email = 'ann@new.test' WHERE id = 1;
UPDATE public.live_users SET id = 12 WHERE id = 11;
DELETE FROM public.live_users WHERE id = 10;
UPDATE public.live_users SET email = email WHERE false;
-- A BEFORE UPDATE row trigger may change the key the statement did not set:
-- then the old keys are recorded too.
CREATE FUNCTION public.live_move_key() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW.id := NEW.id + 100; RETURN NEW; END $$;
CREATE TRIGGER live_move_key BEFORE UPDATE ON public.live_users
    FOR EACH ROW WHEN (NEW.plan = 'moved') EXECUTE FUNCTION public.live_move_key();
UPDATE public.live_users SET plan = 'moved' WHERE id = 2;
TRUNCATE public.live_users;
SELECT relid::regclass AS changed, ids FROM reverse_etl_state.live_change_queue ORDER BY ids NULLS LAST;
ROLLBACK;
SELECT count(*) AS recorded_after_rollback FROM reverse_etl_state.live_change_queue;
-- A run of a live mapping, with nothing pending, delivers nothing new.
SET client_min_messages = warning;
SELECT status, records_extracted, records_selected FROM reverse_etl.sync('live keyed');
RESET client_min_messages;
-- A key column renamed under the triggers: which rows changed is unknown
-- (ids NULL), never an error in the writer's statement; the next run of a
-- model that follows the rename makes the key triggers record the new name.
ALTER TABLE public.live_users RENAME COLUMN id TO uid;
BEGIN;
UPDATE public.live_users SET email = email WHERE uid = 1;
SELECT relid::regclass AS changed, ids FROM reverse_etl_state.live_change_queue;
ROLLBACK;
SELECT reverse_etl.alter_model('live keyed', query => 'SELECT uid AS id, email FROM public.live_users');
SELECT live_mode FROM reverse_etl.mappings WHERE name = 'live keyed';
SET client_min_messages = warning;
SELECT status, records_extracted FROM reverse_etl.sync('live keyed');
RESET client_min_messages;
SELECT tgname, pg_get_triggerdef(oid) LIKE '%capture_keys(''uid'')' AS records_uid FROM pg_trigger
 WHERE tgrelid = 'public.live_users'::regclass AND tgname LIKE 'reverse_etl_live_keys%' ORDER BY tgname;
SELECT reverse_etl.drop_mapping('live keyed');
SELECT reverse_etl.drop_model('live keyed');

-- A model reading a partition: rows changed through the partitioned parent
-- fire the parent's statement triggers, so the parent is captured too.
SELECT reverse_etl.create_model('live partition', 'SELECT id FROM public.live_events_2026', 'id');
SELECT reverse_etl.create_mapping('live partition', 'live hook', 'send', '{"id": "id"}', schedule => 'live',
                                  name => 'live partition');
SET client_min_messages = warning;
SELECT status FROM reverse_etl.sync('live partition');
RESET client_min_messages;
SELECT c.relid::regclass AS captured FROM reverse_etl_state.live_capture c
  JOIN reverse_etl.mapping_catalog m USING (mapping_id) WHERE m.name = 'live partition' ORDER BY c.relid::regclass::text;
SELECT reverse_etl.drop_mapping('live partition');
SELECT reverse_etl.drop_model('live partition');
ALTER TABLE public.live_users RENAME COLUMN uid TO id;

-- The trigger functions work only as AFTER ... FOR EACH STATEMENT triggers.
CREATE TABLE public.live_misused (id int);
CREATE TRIGGER misused AFTER INSERT ON public.live_misused
    FOR EACH ROW EXECUTE FUNCTION reverse_etl_state.capture_change();
INSERT INTO public.live_misused VALUES (1);
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER misused ON public.live_misused;
CREATE TRIGGER misused BEFORE INSERT ON public.live_misused
    FOR EACH STATEMENT EXECUTE FUNCTION reverse_etl_state.capture_keys('id');
INSERT INTO public.live_misused VALUES (1);
\echo :LAST_ERROR_SQLSTATE
DROP TABLE public.live_misused;

-- No longer live: the capture and the pending change are forgotten (the
-- triggers stay; each costs a row per writing transaction until dropped).
SELECT reverse_etl.alter_mapping('live events', schedule => '1 hour');
SELECT (SELECT count(*) FROM reverse_etl_state.live_capture c WHERE c.mapping_id = m.mapping_id) AS captured,
       (SELECT count(*) FROM reverse_etl_state.live_pending p WHERE p.mapping_id = m.mapping_id) AS pending
  FROM reverse_etl.mapping_catalog m WHERE m.name = 'live events';

SELECT reverse_etl.drop_mapping('live totals');
SELECT reverse_etl.drop_mapping('live events');
SELECT reverse_etl.drop_mapping('live constant');
SELECT reverse_etl.drop_mapping('live secrets');
SELECT count(*) AS captured_after_drop FROM reverse_etl_state.live_capture;
SELECT reverse_etl.drop_model('live secrets');
SELECT reverse_etl.drop_destination('live owner hook');
DROP OWNED BY regress_live_owner;
DROP ROLE regress_live_owner;
