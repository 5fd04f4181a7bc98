-- Change detection and delivery (SPEC 4-7): what each run sends and as what
-- change, the generic sync modes, filters, invalid records, reset, preview,
-- send_test_record, disabled objects, the observability views, and how
-- altering a mapping or its model affects the checkpoint.
-- Runs against the mock destination (sql/sync_setup.sql); URLs, run ids and
-- timestamps are never printed.

-- Helpers. The NOTICEs of a run name its run id, which depends on the runs of
-- earlier tests, so the helpers run syncs with client_min_messages = warning.

-- One sync: its status and counters as reverse_etl.sync() returns them.
CREATE FUNCTION sc_sync(m text)
RETURNS TABLE(status text, extracted bigint, added bigint, updated bigint, deleted bigint, unchanged bigint,
              invalid bigint, selected bigint, succeeded bigint, failed bigint, requests bigint, error text)
LANGUAGE sql SET client_min_messages = warning AS $$
    SELECT status, records_extracted, records_added, records_updated, records_deleted, records_unchanged,
           records_invalid, records_selected, records_succeeded, records_failed, requests_sent, error
      FROM reverse_etl.sync(m)
$$;

-- One sync after clearing the mock: its counters and what the mock received,
-- as "id:change" in id order.
CREATE FUNCTION sc_run(m text)
RETURNS TABLE(status text, added bigint, updated bigint, deleted bigint, unchanged bigint, selected bigint,
              succeeded bigint, requests bigint, sent text)
LANGUAGE plpgsql SET client_min_messages = warning AS $$
BEGIN
    PERFORM public.mock_reset();
    RETURN QUERY
    SELECT r.status, r.records_added, r.records_updated, r.records_deleted, r.records_unchanged,
           r.records_selected, r.records_succeeded, r.requests_sent,
           (SELECT string_agg(format('%s:%s', x.record->>'id', x.record->>'change'), ' '
                              ORDER BY x.record->>'id', x.record->>'change')
              FROM public.mock_records() AS x)
      FROM reverse_etl.sync(m) AS r;
END $$;

-- What the mock received, one record per row, in a stable order.
CREATE FUNCTION sc_received() RETURNS SETOF jsonb
LANGUAGE sql AS $$
    SELECT record FROM public.mock_records() ORDER BY record->>'id', record::text
$$;

-- A mapping's checkpoint (reverse_etl_state.checkpoint_<mapping_id>).
CREATE FUNCTION sc_checkpoint(m text) RETURNS TABLE(record_id text, hash bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT record_id, hash FROM reverse_etl_state.checkpoint_%s ORDER BY record_id',
                                (SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = m));
END $$;

-- Everything a dry run must leave alone, as one value to compare.
CREATE FUNCTION sc_state(m text) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'checkpoint', (SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.record_id), '[]') FROM sc_checkpoint(m) c),
        'runs', (SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping = m),
        'errors', (SELECT coalesce(jsonb_agg(to_jsonb(e) ORDER BY e.record_id), '[]')
                     FROM reverse_etl.record_errors e WHERE e.mapping = m))
$$;

CREATE TABLE public.sc_people (
    id    int PRIMARY KEY,
    email text NOT NULL UNIQUE,
    plan  text NOT NULL,
    note  text
);
INSERT INTO public.sc_people VALUES
    (1, 'ann@sc.test', 'pro', 'n1'),
    (2, 'bob@sc.test', 'free', 'n2'),
    (3, 'cy@sc.test', 'pro', 'n3');

SELECT reverse_etl.create_model('sc_people', 'SELECT id, email, plan, note FROM public.sc_people', 'id');
SELECT reverse_etl.create_destination('sc_hook', 'webhook',
    jsonb_build_object('url', public.mock_url('/sc'), 'bearer_token', 'sc-token',
                       'headers', jsonb_build_object('X-Sc-Key', 'sc-key')),
    enabled => true);
-- A mapping of every change; "note" is not mapped. Mappings are disabled by
-- default: a manual sync runs them anyway.
SELECT reverse_etl.create_mapping('sc_people', 'sc_hook', 'send',
    '{"id": "id", "email": "email", "plan": "plan", "change": {"meta": "change"}}',
    sync_mode => 'all', name => 'sc_all');
SELECT name, sync_mode, enabled FROM reverse_etl.mappings WHERE name = 'sc_all';

-- Before any run: no history, nothing running, nothing failing.
SELECT mapping, model, destination, action, enabled, destination_enabled, schedule, next_run_at,
       last_run_id, last_status, last_run_at, failing_records
  FROM reverse_etl.mapping_status WHERE mapping = 'sc_all';
SELECT count(*) AS running FROM reverse_etl.sync_progress;

-------------------------------------------------------------------------------
-- First run: every record is added and sent.
-------------------------------------------------------------------------------
SELECT public.mock_reset();
SELECT * FROM reverse_etl.preview_mapping('sc_all') ORDER BY record_id;
SET client_min_messages = warning;
SELECT mapping, trigger, status, finished_at >= started_at AS timed,
       records_extracted, records_added, records_updated, records_deleted, records_unchanged,
       records_invalid, records_selected, records_succeeded, records_failed, requests_sent, error
  FROM reverse_etl.sync('sc_all');
RESET client_min_messages;
-- The row sync() returned is the run's row in the history.
SELECT count(*) AS runs, max(status) AS status, bool_and(finished_at >= started_at) AS timed
  FROM reverse_etl.sync_runs WHERE mapping = 'sc_all';
-- One request per record (batch_size 1), with the destination's credentials.
SELECT r->>'method' AS method, r->>'path' AS path, r->'headers'->>'content-type' AS content_type,
       r->'headers'->>'authorization' AS authorization, r->'headers'->>'x-sc-key' AS x_sc_key,
       r->'status' AS status, count(*)
  FROM public.mock_requests() AS r GROUP BY 1, 2, 3, 4, 5, 6;
SELECT * FROM sc_received();
-- The checkpoint holds every delivered record.
SELECT record_id FROM sc_checkpoint('sc_all');

-- Second run: nothing changed, nothing is sent.
SELECT public.mock_reset();
SELECT * FROM sc_sync('sc_all');
SELECT count(*) AS requests FROM public.mock_requests();
SELECT * FROM reverse_etl.preview_mapping('sc_all');

-------------------------------------------------------------------------------
-- INSERT, UPDATE, DELETE: exactly those records go, with their change.
-------------------------------------------------------------------------------
INSERT INTO public.sc_people VALUES (4, 'dee@sc.test', 'free', 'n4');
UPDATE public.sc_people SET email = 'bobby@sc.test' WHERE id = 2;
DELETE FROM public.sc_people WHERE id = 3;

-- The preview shows exactly what the next run sends (a deleted record's
-- payload has every column NULL but the identifier) and changes nothing.
SELECT public.mock_reset();
CREATE TEMP TABLE sc_before AS SELECT sc_state('sc_all') AS state;
CREATE TEMP TABLE sc_preview AS SELECT * FROM reverse_etl.preview_mapping('sc_all');
SELECT * FROM sc_preview ORDER BY record_id;
SELECT sc_state('sc_all') = state AS unchanged_by_preview FROM sc_before;
SELECT count(*) AS requests FROM public.mock_requests();
-- row_limit caps it, and is checked.
SELECT count(*) FROM reverse_etl.preview_mapping('sc_all', row_limit => 2);
SELECT count(*) FROM reverse_etl.preview_mapping('sc_all', row_limit => 0);
SELECT * FROM reverse_etl.preview_mapping('sc_all', row_limit => 1001);
\echo :LAST_ERROR_SQLSTATE

SELECT * FROM sc_sync('sc_all');
SELECT * FROM sc_received();
-- The run sent exactly what the preview showed.
SELECT (SELECT jsonb_agg(payload ORDER BY record_id) FROM sc_preview) =
       (SELECT jsonb_agg(record ORDER BY record->>'id') FROM public.mock_records()) AS sent_as_previewed;
SELECT record_id FROM sc_checkpoint('sc_all');
DROP TABLE sc_before, sc_preview;

-- A change in a column the mapping does not send is not an update.
UPDATE public.sc_people SET note = 'changed' WHERE id = 1;
SELECT * FROM sc_run('sc_all');

-------------------------------------------------------------------------------
-- send_test_record: one record sent as a run would, secrets masked; the
-- checkpoint and history are left alone.
-------------------------------------------------------------------------------
SELECT public.mock_reset();
UPDATE public.sc_people SET plan = 'pro' WHERE id = 2;   -- pending: the next run sends it as updated
CREATE TEMP TABLE sc_before AS SELECT sc_state('sc_all') AS state;
CREATE TEMP TABLE sc_test AS SELECT reverse_etl.send_test_record('sc_all', record_id => '2') AS r;
SELECT r->'record_id' AS record_id, r->'request'->'method' AS method,
       r->'request'->>'url' = public.mock_url('/sc') AS url_ok,
       r->'request'->'body' AS body,
       r->'response'->'status' AS status, r->'response'->'body' AS response_body,
       jsonb_typeof(r->'response'->'duration_ms') AS duration_ms
  FROM sc_test;
-- Header names as the client sent them; secret values masked.
SELECT h.key, h.value
  FROM sc_test, jsonb_each(r->'request'->'headers') AS h
 WHERE lower(h.key) IN ('authorization', 'x-sc-key', 'content-type') ORDER BY lower(h.key);
SELECT r::text LIKE '%sc-token%' OR r::text LIKE '%sc-key%' AS secret_shown FROM sc_test;
-- The destination got the real credentials and the same body.
SELECT r->>'method' AS method, r->>'path' AS path, r->'headers'->>'authorization' AS authorization,
       r->'headers'->>'x-sc-key' AS x_sc_key, (r->>'body')::jsonb AS body
  FROM public.mock_requests() AS r;
SELECT sc_state('sc_all') = state AS unchanged_by_test FROM sc_before;
SELECT * FROM reverse_etl.preview_mapping('sc_all') ORDER BY record_id;
-- Without record_id: the model's first record.
SELECT reverse_etl.send_test_record('sc_all')->'response'->'status' AS status;
SELECT reverse_etl.send_test_record('sc_all', record_id => '99');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.send_test_record('sc_nope');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE sc_before, sc_test;

-------------------------------------------------------------------------------
-- A disabled destination never syncs, but can be tested; a disabled mapping
-- can still be synced by hand.
-------------------------------------------------------------------------------
SELECT reverse_etl.disable_destination('sc_hook');
SELECT public.mock_reset();
SELECT status FROM reverse_etl.sync('sc_all');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS requests FROM public.mock_requests();
SELECT reverse_etl.send_test_record('sc_all', record_id => '1')->'response'->'status' AS status;
SELECT reverse_etl.enable_destination('sc_hook');
SELECT status FROM reverse_etl.sync('sc_nope');
\echo :LAST_ERROR_SQLSTATE
SELECT enabled FROM reverse_etl.mappings WHERE name = 'sc_all';
SELECT * FROM sc_run('sc_all');
SELECT * FROM sc_received();

-------------------------------------------------------------------------------
-- Generic sync modes. Records a mode does not send still move the checkpoint.
-------------------------------------------------------------------------------
CREATE TABLE public.sc_modes (id int PRIMARY KEY, email text);
INSERT INTO public.sc_modes VALUES (1, 'a@sc.test'), (2, 'b@sc.test');
SELECT reverse_etl.create_model('sc_modes', 'SELECT id, email FROM public.sc_modes', 'id');
-- Batches: one request per run, a JSON array of records.
SELECT reverse_etl.create_destination('sc_batch', 'webhook',
    jsonb_build_object('url', public.mock_url('/sc/batch'), 'batch_size', 10), enabled => true);
SELECT reverse_etl.create_mapping('sc_modes', 'sc_batch', 'send',
           '{"id": "id", "email": "email", "change": {"meta": "change"}}', sync_mode => mode, name => 'sc_m_' || mode)
  FROM unnest(ARRAY['added', 'updated', 'added_or_updated', 'deleted']) AS mode ORDER BY mode;

-- First runs: every record is added; "updated" and "deleted" send nothing.
SELECT m AS mapping, r.*
  FROM unnest(ARRAY['sc_m_added', 'sc_m_updated', 'sc_m_added_or_updated', 'sc_m_deleted']) WITH ORDINALITY AS u(m, i),
       LATERAL sc_run(m) AS r ORDER BY i;
-- ... but each checkpoint now holds both records.
SELECT m AS mapping, (SELECT string_agg(record_id, ',') FROM sc_checkpoint(m)) AS checkpoint
  FROM unnest(ARRAY['sc_m_added', 'sc_m_updated', 'sc_m_added_or_updated', 'sc_m_deleted']) AS m ORDER BY m;

UPDATE public.sc_modes SET email = 'a2@sc.test' WHERE id = 1;
DELETE FROM public.sc_modes WHERE id = 2;
INSERT INTO public.sc_modes VALUES (3, 'c@sc.test');
SELECT m AS mapping, r.*
  FROM unnest(ARRAY['sc_m_added', 'sc_m_updated', 'sc_m_added_or_updated', 'sc_m_deleted']) WITH ORDINALITY AS u(m, i),
       LATERAL sc_run(m) AS r ORDER BY i;
-- The batch request of the "deleted" run.
SELECT public.mock_reset();
UPDATE public.sc_modes SET email = NULL WHERE id = 3;
DELETE FROM public.sc_modes WHERE id = 1;
SELECT * FROM sc_sync('sc_m_deleted');
SELECT r->>'path' AS path, jsonb_typeof((r->>'body')::jsonb) AS body_type, (r->>'body')::jsonb AS body
  FROM public.mock_requests() AS r;
-- Nothing changed since their last runs: nothing more goes, in particular the
-- "added" mapping does not resend record 1, which was updated.
INSERT INTO public.sc_modes VALUES (1, 'a2@sc.test');
UPDATE public.sc_modes SET email = 'c@sc.test' WHERE id = 3;
SELECT m AS mapping, r.*
  FROM unnest(ARRAY['sc_m_added', 'sc_m_updated', 'sc_m_added_or_updated']) WITH ORDINALITY AS u(m, i),
       LATERAL sc_run(m) AS r ORDER BY i;
-- A record deleted and inserted again is added again for the "added" mapping.
INSERT INTO public.sc_modes VALUES (2, 'b@sc.test');
SELECT * FROM sc_run('sc_m_added');
-- Altering the sync mode keeps the checkpoint: the "updated" mapping, now
-- added_or_updated, sends only record 2, which it saw for the first time.
SELECT reverse_etl.alter_mapping('sc_m_updated', sync_mode => 'added_or_updated');
SELECT * FROM sc_run('sc_m_updated');

-------------------------------------------------------------------------------
-- Filter: a record leaving it counts as deleted, one entering it as added.
-------------------------------------------------------------------------------
SELECT reverse_etl.create_mapping('sc_people', 'sc_hook', 'send',
    '{"id": "id", "email": "email", "plan": "plan", "change": {"meta": "change"}}',
    sync_mode => 'all', filter => 'plan = ''pro''', name => 'sc_pro');
SELECT id, email, plan FROM public.sc_people ORDER BY id;
SELECT * FROM sc_run('sc_pro');
UPDATE public.sc_people SET plan = 'free' WHERE id = 1;   -- leaves the filter
UPDATE public.sc_people SET plan = 'pro' WHERE id = 4;    -- enters it
SELECT * FROM reverse_etl.preview_mapping('sc_pro') ORDER BY record_id;
SELECT * FROM sc_run('sc_pro');
-- The deleted payload has every column NULL but the identifier, though the
-- row is still in the table.
SELECT * FROM sc_received();
SELECT record_id FROM sc_checkpoint('sc_pro');
-- Altering the filter keeps the checkpoint: only the records entering or
-- leaving it go.
SELECT reverse_etl.alter_mapping('sc_pro', filter => 'plan = ''pro'' OR id = 1');
SELECT * FROM sc_run('sc_pro');
SELECT reverse_etl.alter_mapping('sc_pro', filter => 'plan = ''pro''');
SELECT * FROM sc_run('sc_pro');

-------------------------------------------------------------------------------
-- Invalid records: NULL and duplicate identifiers are counted and listed,
-- not sent; their rows disappear when they are fixed.
-------------------------------------------------------------------------------
CREATE TABLE public.sc_dupes (id int, email text);
INSERT INTO public.sc_dupes VALUES (1, 'a'), (2, 'b'), (2, 'b2'), (NULL, 'n');
SELECT reverse_etl.create_model('sc_dupes', 'SELECT id, email FROM public.sc_dupes', 'id');
SELECT reverse_etl.create_mapping('sc_dupes', 'sc_hook', 'send',
    '{"id": "id", "email": "email", "change": {"meta": "change"}}', sync_mode => 'all', name => 'sc_dupes');
-- The preview leaves the invalid records out and records no error.
SELECT * FROM reverse_etl.preview_mapping('sc_dupes') ORDER BY record_id;
SELECT count(*) AS errors FROM reverse_etl.record_errors WHERE mapping = 'sc_dupes';
SELECT public.mock_reset();
SELECT * FROM sc_sync('sc_dupes');
SELECT * FROM sc_received();
SELECT e.record_id, e.change, e.kind, e.error, e.http_status, e.payload, e.attempts,
       e.run_id = (SELECT max(run_id) FROM reverse_etl.sync_runs WHERE mapping = 'sc_dupes') AS this_run,
       e.first_failed_at <= e.last_failed_at AS ordered
  FROM reverse_etl.record_errors e WHERE e.mapping = 'sc_dupes' ORDER BY e.record_id NULLS FIRST;
SELECT last_status, failing_records FROM reverse_etl.mapping_status WHERE mapping = 'sc_dupes';
-- A preview leaves the errors alone.
CREATE TEMP TABLE sc_before AS SELECT sc_state('sc_dupes') AS state;
SELECT count(*) FROM reverse_etl.preview_mapping('sc_dupes');
SELECT sc_state('sc_dupes') = state AS unchanged_by_preview FROM sc_before;
DROP TABLE sc_before;
-- Still invalid on the next run: still listed, first_failed_at kept.
SELECT * FROM sc_sync('sc_dupes');
SELECT e.record_id, e.kind,
       e.first_failed_at < (SELECT max(started_at) FROM reverse_etl.sync_runs WHERE mapping = 'sc_dupes') AS first_kept,
       e.last_failed_at >= (SELECT max(started_at) FROM reverse_etl.sync_runs WHERE mapping = 'sc_dupes') AS last_now
  FROM reverse_etl.record_errors e WHERE e.mapping = 'sc_dupes' ORDER BY e.record_id NULLS FIRST;
-- A duplicate of a delivered record is invalid, not a deletion.
INSERT INTO public.sc_dupes VALUES (1, 'a-again');
SELECT * FROM sc_run('sc_dupes');
SELECT record_id, error FROM reverse_etl.record_errors WHERE mapping = 'sc_dupes' ORDER BY record_id NULLS FIRST;
-- Fixed: the errors go, record 2 is sent as added, record 1 is unchanged.
DELETE FROM public.sc_dupes WHERE email IN ('b2', 'a-again') OR id IS NULL;
SELECT * FROM sc_run('sc_dupes');
SELECT count(*) AS errors FROM reverse_etl.record_errors WHERE mapping = 'sc_dupes';
SELECT last_status, failing_records FROM reverse_etl.mapping_status WHERE mapping = 'sc_dupes';

-------------------------------------------------------------------------------
-- reset_mapping: the next run sends every record as added.
-------------------------------------------------------------------------------
SELECT * FROM sc_run('sc_all');   -- catch up first
SELECT reverse_etl.reset_mapping('sc_all');
SELECT count(*) AS checkpoint FROM sc_checkpoint('sc_all');
SELECT record_id, change FROM reverse_etl.preview_mapping('sc_all') ORDER BY record_id;
SELECT * FROM sc_run('sc_all');
SELECT * FROM sc_received();
SELECT reverse_etl.reset_mapping('sc_nope');
\echo :LAST_ERROR_SQLSTATE

-------------------------------------------------------------------------------
-- Altering fields: records whose payload changes count as updated.
-------------------------------------------------------------------------------
SELECT reverse_etl.alter_mapping('sc_all',
    fields => '{"id": "id", "email": "email", "plan": "plan", "note": "note", "change": {"meta": "change"}}');
SELECT * FROM sc_run('sc_all');
SELECT * FROM sc_received();
SELECT * FROM sc_run('sc_all');

-------------------------------------------------------------------------------
-- alter_model: a new query keeps the checkpoints; a new primary key resets them.
-------------------------------------------------------------------------------
-- An extra column the mappings do not send.
SELECT reverse_etl.alter_model('sc_people', query => 'SELECT id, email, plan, note, id * 10 AS score FROM public.sc_people');
SELECT * FROM sc_run('sc_all');
SELECT * FROM sc_run('sc_pro');
-- The same columns in another order: the payloads are the same.
SELECT reverse_etl.alter_model('sc_people', query => 'SELECT note, plan, email, id FROM public.sc_people');
SELECT * FROM sc_run('sc_all');
SELECT * FROM sc_run('sc_pro');
-- A real change still goes.
UPDATE public.sc_people SET note = 'n2 again' WHERE id = 2;
SELECT * FROM sc_run('sc_all');

SELECT reverse_etl.alter_model('sc_people', primary_key => 'email');
SELECT count(*) AS checkpoint FROM sc_checkpoint('sc_all');
SELECT count(*) AS checkpoint FROM sc_checkpoint('sc_pro');
SELECT * FROM reverse_etl.preview_mapping('sc_all') ORDER BY record_id;
SELECT public.mock_reset();
SELECT * FROM sc_sync('sc_all');
SELECT * FROM sc_received();
SELECT record_id FROM sc_checkpoint('sc_all');
SELECT * FROM sc_run('sc_pro');
-- A new query that changes the key's type: the checkpoints hold emails, which
-- no deletion could name as integers (every run would fail), so it is refused
-- while they do; a type every kept identifier fits is taken, checkpoints kept.
-- (The detail names the first kept email the cast meets, which depends on
-- the checkpoint's physical order: shown as "<an email>".)
DO $$
DECLARE
    state text;
    message text;
    detail text;
    hint text;
BEGIN
    PERFORM reverse_etl.alter_model('sc_people', query => 'SELECT note, plan, length(email) AS email, id FROM public.sc_people');
    RAISE NOTICE 'altered';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT;
    RAISE NOTICE E'%: %\nDETAIL:  %\nHINT:  %', state, message,
        regexp_replace(detail, '"[a-z]+@sc\.test"', '"<an email>"'), hint;
END
$$;
-- The same for a domain whose CHECK the emails fail.
CREATE DOMAIN public.sc_digits AS text CHECK (VALUE ~ '^[0-9]+$');
SELECT reverse_etl.alter_model('sc_people', query => 'SELECT note, plan, email::public.sc_digits AS email, id FROM public.sc_people');
\echo :LAST_ERROR_SQLSTATE
DROP DOMAIN public.sc_digits;
SELECT reverse_etl.alter_model('sc_people', query => 'SELECT note, plan, email::varchar(64) AS email, id FROM public.sc_people');
SELECT c->>'type' AS key_type FROM reverse_etl.models, jsonb_array_elements(columns) AS c
 WHERE name = 'sc_people' AND c->>'name' = 'email';
SELECT count(*) AS checkpoint FROM sc_checkpoint('sc_all');
SELECT * FROM sc_run('sc_all');
SELECT reverse_etl.alter_model('sc_people', query => 'SELECT note, plan, email, id FROM public.sc_people');

-------------------------------------------------------------------------------
-- The views.
-------------------------------------------------------------------------------
SELECT count(*) AS runs, count(DISTINCT run_id) AS run_ids, bool_and(trigger = 'manual') AS manual,
       bool_and(started_at <= finished_at) AS timed, count(*) FILTER (WHERE error IS NOT NULL) AS errors
  FROM reverse_etl.sync_runs WHERE mapping LIKE 'sc\_%';
SELECT mapping, status, records_extracted AS extracted, records_added AS added,
       records_updated AS updated, records_deleted AS deleted, records_unchanged AS unchanged,
       records_invalid AS invalid, records_selected AS selected, records_succeeded AS succeeded,
       records_failed AS failed, requests_sent AS requests
  FROM reverse_etl.sync_runs WHERE mapping IN ('sc_pro', 'sc_dupes') ORDER BY run_id;
SELECT mapping, model, destination, action, enabled, destination_enabled, schedule, next_run_at,
       last_run_id = (SELECT max(run_id) FROM reverse_etl.sync_runs r WHERE r.mapping = s.mapping) AS last_run,
       last_status, last_run_at IS NOT NULL AS has_run, failing_records
  FROM reverse_etl.mapping_status s WHERE mapping LIKE 'sc\_%' ORDER BY mapping;
SELECT count(*) AS running FROM reverse_etl.sync_progress;
SELECT count(*) AS errors FROM reverse_etl.record_errors WHERE mapping LIKE 'sc\_%';

-------------------------------------------------------------------------------
-- Clean up.
-------------------------------------------------------------------------------
SELECT reverse_etl.drop_model(m, cascade => true) FROM unnest(ARRAY['sc_people', 'sc_modes', 'sc_dupes']) AS m;
SELECT reverse_etl.drop_destination(d) FROM unnest(ARRAY['sc_hook', 'sc_batch']) AS d;
SELECT count(*) AS left_over FROM reverse_etl.mappings WHERE name LIKE 'sc\_%';
DROP TABLE public.sc_people, public.sc_modes, public.sc_dupes;
DROP FUNCTION sc_sync(text), sc_run(text), sc_received(), sc_checkpoint(text), sc_state(text);
SELECT public.mock_reset();
