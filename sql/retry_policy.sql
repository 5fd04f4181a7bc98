-- Retry policy (issue 17, SPEC section 6): retry_failed_records => false
-- leaves failed and rejected records alone until they change,
-- retry_records() asks for them again, reverse_etl.give_up_after gives up on
-- a record that keeps failing. Needs sync_setup (mock helpers).
SET client_min_messages = warning;
-- One attempt per request: a 500 fails its record at once.
SET reverse_etl.max_request_attempts = 1;

CREATE TABLE rp_people (id int PRIMARY KEY, name text);
INSERT INTO rp_people VALUES (1, 'Ann'), (2, 'Bea'), (3, 'Cid'), (4, 'Dee');
SELECT reverse_etl.create_model(name => 'rp people', query => 'SELECT id, name FROM public.rp_people',
    primary_key => 'id');
SELECT reverse_etl.create_destination(name => 'rp hook', type => 'webhook',
    settings => jsonb_build_object('url', mock_url('/rp')), enabled => true);
SELECT reverse_etl.create_mapping(model => 'rp people', destination => 'rp hook', action => 'send',
    fields => '{"id": "id", "name": "name"}', name => 'rp', sync_mode => 'all');

CREATE FUNCTION rp_sync(mapping text DEFAULT 'rp')
RETURNS TABLE(status text, added bigint, updated bigint, deleted bigint, unchanged bigint,
              selected bigint, succeeded bigint, failed bigint)
LANGUAGE sql AS $$
    SELECT r.status, r.records_added, r.records_updated, r.records_deleted, r.records_unchanged,
           r.records_selected, r.records_succeeded, r.records_failed
      FROM reverse_etl.sync(mapping) AS r
$$;

-- The records the mock got since the last reset: "id:name" by id (requests
-- run concurrently: their order of arrival varies).
CREATE FUNCTION rp_sent() RETURNS text
LANGUAGE sql AS $$
    SELECT coalesce(string_agg((record->>'id') || ':' || coalesce(record->>'name', '-'), ' '
                               ORDER BY (record->>'id')::int, seq), '')
      FROM mock_records()
$$;

CREATE FUNCTION rp_errors(mapping text DEFAULT 'rp')
RETURNS TABLE(record_id text, change text, kind text, http_status int, attempts int, given_up boolean)
LANGUAGE sql AS $$
    SELECT e.record_id, e.change, e.kind, e.http_status, e.attempts, e.given_up_at IS NOT NULL
      FROM reverse_etl.record_errors e WHERE e.mapping = $1 ORDER BY e.record_id
$$;

-- The mock rejects record 1 (422) and fails record 2 (500).
CREATE FUNCTION rp_mock_refuses() RETURNS void
LANGUAGE sql AS $$
    SELECT mock_reset();
    SELECT mock_config('{"records": {"match": "id", "rules": {"1": {"status": 422, "body": "bad name"},
                                                              "2": {"status": 500, "body": "down"}}}}');
$$;

-- 1. By default, failed and rejected records are sent again by every run.
SELECT retry_failed_records FROM reverse_etl.mappings WHERE name = 'rp';
SELECT rp_mock_refuses();
SELECT * FROM rp_sync();
SELECT * FROM rp_errors();
SELECT rp_mock_refuses();
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT * FROM rp_errors();

-- 2. retry_failed_records => false: the next run leaves them alone (nothing
-- sent, nothing checkpointed); their errors stay, marked given up. The
-- preview agrees: nothing to send.
SELECT reverse_etl.alter_mapping('rp', retry_failed_records => false);
SELECT retry_failed_records FROM reverse_etl.mappings WHERE name = 'rp';
-- NULL keeps the current value.
SELECT reverse_etl.alter_mapping('rp', retry_failed_records => NULL);
SELECT retry_failed_records FROM reverse_etl.mappings WHERE name = 'rp';
SELECT rp_mock_refuses();
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT * FROM rp_errors();
SELECT failing_records, given_up_records FROM reverse_etl.mapping_status WHERE mapping = 'rp';
SELECT count(*) AS previewed FROM reverse_etl.preview_mapping('rp');
-- Still left alone at the next run; given_up_at keeps its first time.
SELECT given_up_at AS first_given_up FROM reverse_etl.record_errors WHERE mapping = 'rp' AND record_id = '1' \gset
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT given_up_at = :'first_given_up' AS same_given_up_at
  FROM reverse_etl.record_errors WHERE mapping = 'rp' AND record_id = '1';

-- 3. A record that changes is sent again (and here rejected again: no
-- longer given up until the next run finds it unchanged).
UPDATE rp_people SET name = 'Anne' WHERE id = 1;
SELECT count(*) AS previewed FROM reverse_etl.preview_mapping('rp');
-- The held record 2 comes before record 1 in the table: a preview of one
-- record still shows the one the run will send.
SELECT record_id, change FROM reverse_etl.preview_mapping('rp', 1);
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT * FROM rp_errors();
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT * FROM rp_errors();

-- 4. retry_records: the records named (or all) go out at the next run,
-- changed or not; it counts the failed and rejected records it marked.
SELECT reverse_etl.retry_records('rp', ARRAY['2', '3', 'no such record']);
SELECT * FROM rp_errors();
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT * FROM rp_errors();
-- The destination takes everything now.
SELECT mock_reset();
SELECT reverse_etl.retry_records('rp');
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT count(*) AS record_errors FROM reverse_etl.record_errors WHERE mapping = 'rp';
SELECT reverse_etl.retry_records('rp');

-- 5. A deletion that is rejected is left alone too, and retried on request.
DELETE FROM rp_people WHERE id = 3;
SELECT mock_reset();
SELECT mock_config('{"records": {"match": "id", "rules": {"3": {"status": 422, "body": "cannot delete"}}}}');
SELECT * FROM rp_sync();
SELECT * FROM rp_errors();
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT * FROM rp_errors();
SELECT mock_reset();
SELECT reverse_etl.retry_records('rp', ARRAY['3']);
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT count(*) AS record_errors FROM reverse_etl.record_errors WHERE mapping = 'rp';

-- 6. Turning retries back on sends the held records at the next run.
UPDATE rp_people SET name = name || '!' WHERE id IN (1, 2);
SELECT rp_mock_refuses();
SELECT * FROM rp_sync();
SELECT * FROM rp_sync();
SELECT * FROM rp_errors();
SELECT reverse_etl.alter_mapping('rp', retry_failed_records => true);
SELECT rp_mock_refuses();
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT * FROM rp_errors();

-- 7. reverse_etl.give_up_after: with retries on, a record failing for
-- longer than that is given up (sync() carries the caller's setting to the
-- worker); 0 (the default) retries forever.
SHOW reverse_etl.give_up_after;
SET reverse_etl.give_up_after = '1s';
SHOW reverse_etl.give_up_after;
SELECT pg_sleep(1.2);
SELECT rp_mock_refuses();
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT * FROM rp_errors();
SET reverse_etl.give_up_after = '1h';
SELECT rp_mock_refuses();
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT * FROM rp_errors();
-- retry_records restarts the clock: within the hour, retried again.
SELECT reverse_etl.retry_records('rp');
SELECT rp_mock_refuses();
SELECT * FROM rp_sync();
SELECT rp_sent();
SELECT * FROM rp_errors();
RESET reverse_etl.give_up_after;

-- 8. A first run whose records all failed leaves an empty checkpoint, so the
-- next run reads the model as a first run again: held records stay out of
-- it too.
SELECT reverse_etl.create_mapping(model => 'rp people', destination => 'rp hook', action => 'send',
    fields => '{"id": "id", "name": "name"}', name => 'rp first', filter => 'id IN (1, 2)',
    retry_failed_records => false);
SELECT retry_failed_records FROM reverse_etl.mappings WHERE name = 'rp first';
SELECT rp_mock_refuses();
SELECT * FROM rp_sync('rp first');
SELECT * FROM rp_sync('rp first');
SELECT rp_sent();
SELECT * FROM rp_errors('rp first');
-- A copy keeps the policy.
SELECT reverse_etl.duplicate_mapping('rp first', 'rp first copy');
SELECT retry_failed_records FROM reverse_etl.mappings WHERE name = 'rp first copy';

-- 9. Errors.
SELECT reverse_etl.retry_records('no such mapping');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.retry_records(NULL);
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.give_up_after = '-1s';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.give_up_after = 'soon';
\echo :LAST_ERROR_SQLSTATE
-- Another role sees neither the mapping nor its errors.
CREATE ROLE rp_other;
GRANT USAGE ON SCHEMA reverse_etl TO rp_other;
GRANT EXECUTE ON FUNCTION reverse_etl.retry_records(text, text[]) TO rp_other;
SET ROLE rp_other;
SELECT reverse_etl.retry_records('rp first');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM reverse_etl.record_errors;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION reverse_etl.retry_records(text, text[]) FROM rp_other;
REVOKE USAGE ON SCHEMA reverse_etl FROM rp_other;
DROP ROLE rp_other;

SELECT reverse_etl.drop_mapping('rp first copy');
SELECT reverse_etl.drop_mapping('rp first');
SELECT reverse_etl.drop_mapping('rp');
SELECT reverse_etl.drop_destination('rp hook');
SELECT reverse_etl.drop_model('rp people');
DROP FUNCTION rp_sync, rp_sent, rp_errors, rp_mock_refuses;
DROP TABLE rp_people;
