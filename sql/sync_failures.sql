-- Sync failures (SPEC sections 5-9): retries and backoff (429 with
-- Retry-After, 5xx, timeouts, dropped connections), batch splitting on 400,
-- rejected records, auth errors, unreachable and disallowed hosts, cancel,
-- the model owner's privileges, and secrets kept out of the run history.
-- Needs sync_setup (mock helpers). Every error is followed by its SQLSTATE.
--
-- NOTICEs of sync() name run ids, which depend on the tests run before: hide them.
SET client_min_messages = warning;
-- The caller's reverse_etl.max_request_attempts, request_timeout and
-- max_concurrent_requests reach the sync's background worker (the attempt
-- counts below show it). Two attempts keep the retry tests short.
SET reverse_etl.max_request_attempts = 2;

CREATE TABLE sf_people (id int PRIMARY KEY, name text);
INSERT INTO sf_people VALUES (1, 'Ann'), (2, 'Bea'), (3, 'Cid'), (4, 'Dee');
SELECT reverse_etl.create_model(name => 'sf people', query => 'SELECT id, name FROM public.sf_people',
    primary_key => 'id');

-- A webhook destination to the mock (plus extra settings) and a mapping
-- sending {"id", "name"}, optionally filtered.
CREATE FUNCTION sf_setup(name text, extra jsonb DEFAULT '{}', filter text DEFAULT NULL,
                         url text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reverse_etl.create_destination(name => name, type => 'webhook',
        settings => jsonb_build_object('url', coalesce(url, mock_url('/sf'))) || extra, enabled => true);
    PERFORM reverse_etl.create_mapping(model => 'sf people', destination => name, action => 'send',
        fields => '{"id": "id", "name": "name"}', name => name, filter => filter);
END $$;

-- Runs a mapping and shows its run row without ids and times. A transport
-- error shows our class of it ("timeout", "could not connect", ...), which
-- is the promise; libcurl's own words after it vary between its versions.
CREATE FUNCTION sf_sync(mapping text)
RETURNS TABLE(status text, extracted bigint, added bigint, updated bigint, unchanged bigint,
              selected bigint, succeeded bigint, failed bigint, requests bigint, error text)
LANGUAGE sql AS $$
    SELECT r.status, r.records_extracted, r.records_added, r.records_updated, r.records_unchanged,
           r.records_selected, r.records_succeeded, r.records_failed, r.requests_sent,
           regexp_replace(r.error, '\(libcurl: .+\)', '(libcurl: ...)')
      FROM reverse_etl.sync(mapping) AS r
$$;

-- The requests the mock got, per record (bodies of batch_size 1): how many,
-- and what the mock answered, in order (null: connection dropped).
CREATE FUNCTION sf_requests()
RETURNS TABLE(id text, requests bigint, answers text, bodies jsonb)
LANGUAGE sql AS $$
    SELECT (r->>'body')::jsonb->>'id', count(*),
           string_agg(coalesce(r->>'status', 'null'), ',' ORDER BY (r->>'seq')::int),
           jsonb_agg(DISTINCT (r->>'body')::jsonb)
      FROM mock_requests() AS r GROUP BY 1 ORDER BY 1
$$;

CREATE FUNCTION sf_errors(mapping text)
RETURNS TABLE(record_id text, change text, kind text, http_status int, attempts int, error text, payload jsonb)
LANGUAGE sql AS $$
    SELECT e.record_id, e.change, e.kind, e.http_status, e.attempts,
           regexp_replace(e.error, '\(libcurl: .+\)', '(libcurl: ...)'), e.payload
      FROM reverse_etl.record_errors e WHERE e.mapping = $1 ORDER BY e.record_id
$$;

-- Waits (up to 10 s) until a mapping has no running run.
CREATE FUNCTION sf_wait_idle(mapping text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..100 LOOP
        IF NOT EXISTS (SELECT 1 FROM reverse_etl.sync_runs r
                        WHERE r.mapping = sf_wait_idle.mapping AND r.status IN ('queued', 'running')) THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN false;
END $$;

-- 1. 429 with Retry-After: 1, then 200: the record is delivered once, after
-- waiting the second the server asked for; requests_sent counts the retry.
SELECT sf_setup('sf 429', filter => 'id = 1');
SELECT mock_reset();
SELECT mock_config('{"script": [{"status": 429, "headers": {"Retry-After": "1"}, "body": "slow down"}]}');
SELECT * FROM sf_sync('sf 429');
SELECT * FROM sf_requests();
SELECT max((r->>'epoch')::float8) - min((r->>'epoch')::float8) >= 0.95 AS waited_retry_after
  FROM mock_requests() AS r;
SELECT count(*) AS record_errors FROM reverse_etl.record_errors WHERE mapping = 'sf 429';

-- 2. A dropped connection (empty reply), then 200: retried, delivered.
SELECT sf_setup('sf drop', filter => 'id = 1');
SELECT mock_reset();
SELECT mock_config('{"script": [{"drop": true}]}');
SELECT * FROM sf_sync('sf drop');
SELECT * FROM sf_requests();

-- 3. The caller's reverse_etl.max_concurrent_requests: with 1, the requests
-- (each answered after 200 ms) go one after the other over one reused
-- keep-alive connection; with the default 8 they overlap. The mock counts the
-- requests it holds unanswered when one arrives (in_flight), so neither
-- check depends on how fast this machine is.
SELECT sf_setup('sf concurrency', filter => 'id <= 3');
SELECT mock_reset();
SELECT mock_config('{"default": {"delay_ms": 200}}');
SET reverse_etl.max_concurrent_requests = 1;
SELECT status, records_succeeded, requests_sent FROM reverse_etl.sync('sf concurrency');
SELECT count(DISTINCT r->>'conn') AS connections,
       max((r->>'in_flight')::int) AS most_in_flight,
       max((r->>'epoch')::float8) - min((r->>'epoch')::float8) >= 0.39 AS one_after_the_other
  FROM mock_requests() AS r;
RESET reverse_etl.max_concurrent_requests;
SELECT reverse_etl.reset_mapping('sf concurrency');
SELECT mock_reset();
SELECT mock_config('{"default": {"delay_ms": 1000}}');
SELECT status, records_succeeded, requests_sent FROM reverse_etl.sync('sf concurrency');
SELECT count(DISTINCT r->>'conn') > 1 AS several_connections,
       max((r->>'in_flight')::int) > 1 AS overlapping
  FROM mock_requests() AS r;

-- 4. Persistent 5xx for some records (batch_size 1): each is tried
-- max_request_attempts times, the run partially succeeds, the records are
-- "failed" in record_errors and stay out of the checkpoint.
SELECT sf_setup('sf 5xx');
SELECT mock_reset();
SELECT mock_config('{"records": {"match": "id", "rules": {"2": {"status": 503, "body": "maintenance"},
                                                            "4": {"status": 500, "body": {"error": "boom"}}}}}');
SELECT * FROM sf_sync('sf 5xx');
SELECT * FROM sf_requests();
SELECT * FROM sf_errors('sf 5xx');
SELECT mapping, last_status, failing_records FROM reverse_etl.mapping_status WHERE mapping = 'sf 5xx';
-- Record 2 changes meanwhile; the destination is back for it, not yet for 4.
-- The next run sends both again (still "added": never delivered), 2 with the
-- data as it is now; 2's row disappears, 4's attempts add up.
UPDATE sf_people SET name = 'Bea v2' WHERE id = 2;
SELECT mock_reset();
SELECT mock_config('{"records": {"match": "id", "rules": {"4": {"status": 500, "body": {"error": "boom"}}}}}');
SELECT * FROM sf_sync('sf 5xx');
SELECT * FROM sf_requests();
SELECT * FROM sf_errors('sf 5xx');
-- Fixed: 4 is delivered, no record error is left.
SELECT mock_reset();
SELECT * FROM sf_sync('sf 5xx');
SELECT * FROM sf_requests();
SELECT count(*) AS record_errors FROM reverse_etl.record_errors WHERE mapping = 'sf 5xx';
-- Nothing left to send.
SELECT * FROM sf_sync('sf 5xx');

-- 5. A batch refused as a whole with a 400 (batch_size 4): halves are sent
-- until the bad record stands alone; it is rejected, the others delivered.
SELECT sf_setup('sf split', extra => '{"batch_size": 4}');
SELECT mock_reset();
SELECT mock_config('{"records": {"match": "id", "rules": {"3": {"status": 400, "body": "bad record"}}}}');
SELECT * FROM sf_sync('sf split');
-- Requests by size and answer: 4 -> 400, 2 + 2 (one 400), 1 + 1 (one 400).
SELECT jsonb_array_length((r->>'body')::jsonb) AS records, (r->>'status')::int AS status, count(*)
  FROM mock_requests() AS r GROUP BY 1, 2 ORDER BY 1 DESC, 2;
SELECT string_agg(record->>'id', ',' ORDER BY record->>'id') AS refused_alone
  FROM mock_records() AS m JOIN mock_requests() AS r ON (r->>'seq')::int = m.seq
 WHERE (r->>'status')::int = 400 AND jsonb_array_length((r->>'body')::jsonb) = 1;
SELECT string_agg(DISTINCT record->>'id', ',') AS delivered
  FROM mock_records() AS m JOIN mock_requests() AS r ON (r->>'seq')::int = m.seq
 WHERE (r->>'status')::int = 200;
SELECT * FROM sf_errors('sf split');

-- 6. Another 4xx on a single record: rejected at once (no retry); a later
-- run retries it and, accepted, its row disappears.
SELECT sf_setup('sf 422');
SELECT mock_reset();
SELECT mock_config('{"records": {"match": "id", "rules": {"1": {"status": 422, "body": {"error": "name is invalid"}}}}}');
SELECT * FROM sf_sync('sf 422');
SELECT * FROM sf_requests();
SELECT * FROM sf_errors('sf 422');
SELECT mock_reset();
SELECT * FROM sf_sync('sf 422');
SELECT * FROM sf_requests();
SELECT count(*) AS record_errors FROM reverse_etl.record_errors WHERE mapping = 'sf 422';

-- 7. 401: the run fails (auth error), nothing is checkpointed. The
-- destination has secrets of every kind, all containing "Zq81x".
SELECT sf_setup('sf auth', filter => 'id <= 3',
    extra => '{"bearer_token": "sf-bearer-Zq81x", "headers": {"X-Api-Key": "sf-header-Zq81x"},
               "signing_secret": "sf-signing-Zq81x"}');
SELECT mock_reset();
SELECT mock_config('{"default": {"status": 401, "body": {"error": "invalid credentials"}}}');
SELECT * FROM sf_sync('sf auth');
SELECT * FROM sf_requests();
-- The secrets were sent (only to the destination).
SELECT bool_and(r->'headers'->>'authorization' = 'Bearer sf-bearer-Zq81x'
                AND r->'headers'->>'x-api-key' = 'sf-header-Zq81x') AS secrets_sent
  FROM mock_requests() AS r;
SELECT * FROM sf_errors('sf auth');
-- Credentials fixed: every record is still new to the mapping.
SELECT mock_reset();
SELECT * FROM sf_sync('sf auth');
SELECT count(*) AS record_errors FROM reverse_etl.record_errors WHERE mapping = 'sf auth';

-- 8. A timeout (the answer comes after reverse_etl.request_timeout): retried,
-- then the record is failed; the other record is delivered. (The mock logs
-- the answer it gave, after the client had given up.)
SET reverse_etl.request_timeout = '1s';
SELECT sf_setup('sf timeout', filter => 'id <= 2');
SELECT mock_reset();
SELECT mock_config('{"records": {"match": "id", "rules": {"2": {"delay_ms": 5000}}}}');
SELECT * FROM sf_sync('sf timeout');
SELECT * FROM sf_requests();
SELECT * FROM sf_errors('sf timeout');
RESET reverse_etl.request_timeout;
-- The destination's own timeout setting applies too; when nothing gets
-- through, the destination is unreachable and the run fails.
SELECT reverse_etl.reset_mapping('sf timeout');
SELECT reverse_etl.alter_destination('sf timeout', settings => '{"timeout": "1 second"}');
SELECT mock_reset();
SELECT mock_config('{"default": {"delay_ms": 5000}}');
SELECT * FROM sf_sync('sf timeout');
SELECT * FROM sf_requests();

-- 9. Connection refused (nothing listens on port 9): unreachable, run failed.
SELECT sf_setup('sf refused', filter => 'id = 1', url => 'http://127.0.0.1:9/sf');
SELECT * FROM sf_sync('sf refused');
SELECT * FROM sf_errors('sf refused');

-- 10. reverse_etl.allowed_hosts without 127.0.0.1: the run fails before
-- sending anything. sync() runs with the calling session's reverse_etl.*
-- settings, so a superuser's SET applies to the syncs that session runs.
SELECT sf_setup('sf hosts', filter => 'id = 1');
SET reverse_etl.allowed_hosts = 'hooks.example.com';
SELECT reverse_etl.reset_mapping('sf hosts');
SELECT mock_reset();
SELECT * FROM sf_sync('sf hosts');
SELECT count(*) AS requests FROM mock_requests();
-- (terse: the DETAIL names the mock's port)
\set VERBOSITY terse
SELECT reverse_etl.send_test_record('sf hosts');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET reverse_etl.allowed_hosts;

-- 11. Cancel. sync() runs in a second session (dblink, so that this one can
-- act while it waits) while record 3 waits 5 s for its answer. Once the
-- other three are acknowledged (sync_progress shows them), the call is
-- cancelled the way Ctrl-C or statement_timeout cancel it: the run is
-- canceled and the three count as delivered.
CREATE EXTENSION dblink;
-- A connection named 'sf caller' to this database, as this role.
CREATE FUNCTION sf_connect_caller() RETURNS text
LANGUAGE sql AS $$
    SELECT dblink_connect('sf caller', format('dbname=%s port=%s host=%s', current_database(),
        current_setting('port'), split_part(current_setting('unix_socket_directories'), ',', 1)))
$$;
SELECT sf_connect_caller();
-- Waits (up to 30 s) until the running run of a mapping has n records acknowledged.
CREATE FUNCTION sf_wait_succeeded(mapping text, n int) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..300 LOOP
        IF EXISTS (SELECT 1 FROM reverse_etl.sync_progress p
                    WHERE p.mapping = sf_wait_succeeded.mapping AND p.records_succeeded >= n) THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN false;
END $$;
SELECT sf_setup('sf cancel');
SELECT mock_reset();
SELECT mock_config('{"records": {"match": "id", "rules": {"3": {"delay_ms": 5000}}}}');
SELECT dblink_send_query('sf caller', 'SELECT status FROM reverse_etl.sync(''sf cancel'')');
SELECT sf_wait_succeeded('sf cancel', 3);
SELECT dblink_cancel_query('sf caller');
\set VERBOSITY terse
SELECT * FROM dblink_get_result('sf caller') AS t(status text);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT sf_wait_idle('sf cancel');
SELECT status, records_selected, records_succeeded, records_failed, error
  FROM reverse_etl.sync_runs WHERE mapping = 'sf cancel';
SELECT count(*) AS requests_received FROM mock_requests();
SELECT count(*) AS record_errors FROM reverse_etl.record_errors WHERE mapping = 'sf cancel';
-- The next run sends only the record that was in flight.
SELECT mock_reset();
SELECT * FROM sf_sync('sf cancel');
SELECT * FROM sf_requests();
-- cancel_sync from this session while the other one's sync() waits for
-- record 3: meanwhile the mapping is busy, and cancel_sync stops the run;
-- the waiting call returns the canceled run.
SELECT reverse_etl.reset_mapping('sf cancel');
SELECT mock_reset();
SELECT mock_config('{"records": {"match": "id", "rules": {"3": {"delay_ms": 5000}}}}');
-- (A connection whose query failed is reopened rather than drained.)
SELECT dblink_disconnect('sf caller');
SELECT sf_connect_caller();
SELECT dblink_send_query('sf caller', 'SELECT status FROM reverse_etl.sync(''sf cancel'')');
SELECT sf_wait_succeeded('sf cancel', 3);
SELECT mapping, phase FROM reverse_etl.sync_progress WHERE mapping = 'sf cancel';
\set VERBOSITY terse
SELECT status FROM reverse_etl.sync('sf cancel');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT reverse_etl.cancel_sync('sf cancel');
SELECT * FROM dblink_get_result('sf caller') AS t(status text);
SELECT dblink_disconnect('sf caller');
SELECT sf_wait_idle('sf cancel');
SELECT status, records_selected, records_succeeded, records_failed, error
  FROM reverse_etl.sync_runs WHERE mapping = 'sf cancel' ORDER BY run_id DESC LIMIT 1;
-- Nothing is running now.
SELECT reverse_etl.cancel_sync('sf cancel');
SELECT reverse_etl.cancel_sync('sf no such mapping');
\echo :LAST_ERROR_SQLSTATE

-- 12. A model's query runs as its owner, whoever starts the run: when the
-- owner loses SELECT on its table, a superuser's sync fails and sends nothing.
CREATE ROLE regress_sf_owner LOGIN;
CREATE ROLE regress_sf_nologin NOLOGIN;
GRANT USAGE ON SCHEMA reverse_etl TO regress_sf_owner, regress_sf_nologin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO regress_sf_owner, regress_sf_nologin;
CREATE TABLE sf_owned (id int PRIMARY KEY, email text);
INSERT INTO sf_owned VALUES (1, 'a@example.com');
GRANT SELECT ON sf_owned TO regress_sf_owner, regress_sf_nologin;
SET ROLE regress_sf_owner;
SELECT reverse_etl.create_model(name => 'sf owned', query => 'SELECT id, email FROM public.sf_owned',
    primary_key => 'id');
SELECT reverse_etl.create_destination(name => 'sf owned', type => 'webhook',
    settings => jsonb_build_object('url', mock_url('/sf')), enabled => true);
SELECT reverse_etl.create_mapping(model => 'sf owned', destination => 'sf owned', action => 'send',
    fields => '{"id": "id", "email": "email"}', name => 'sf owned');
RESET ROLE;
SELECT mock_reset();
SELECT * FROM sf_sync('sf owned');
REVOKE SELECT ON sf_owned FROM regress_sf_owner;
INSERT INTO sf_owned VALUES (2, 'b@example.com');
SELECT mock_reset();
SELECT * FROM sf_sync('sf owned');
SELECT count(*) AS requests FROM mock_requests();
-- A dry run reports it the same way.
SELECT * FROM reverse_etl.preview_mapping('sf owned');
\echo :LAST_ERROR_SQLSTATE

-- 13. A model owner that cannot log in: the worker could not connect as it.
SET ROLE regress_sf_nologin;
SELECT reverse_etl.create_model(name => 'sf nologin', query => 'SELECT id, email FROM public.sf_owned',
    primary_key => 'id');
SELECT reverse_etl.create_destination(name => 'sf nologin', type => 'webhook',
    settings => jsonb_build_object('url', mock_url('/sf')), enabled => true);
SELECT reverse_etl.create_mapping(model => 'sf nologin', destination => 'sf nologin', action => 'send',
    fields => '{"id": "id"}', name => 'sf nologin');
SELECT status FROM reverse_etl.sync('sf nologin');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT status FROM reverse_etl.sync('sf nologin');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS runs FROM reverse_etl.sync_runs WHERE mapping = 'sf nologin';

-- 14. Secrets stay out of the history even when the destination echoes them
-- back in an error body.
SELECT sf_setup('sf echo', filter => 'id <= 2',
    extra => '{"bearer_token": "sf-bearer-Zq81x", "basic_username": "sf", "basic_password": "sf-basic-Zq81x"}');
SELECT mock_reset();
SELECT mock_config('{"records": {"match": "id", "rules": {
    "1": {"status": 401, "body": "token sf-bearer-Zq81x is not valid"},
    "2": {"status": 422, "body": "key sf-bearer-Zq81x may not send this"}}}}');
SELECT status, error LIKE '%Zq81x%' AS error_shows_secret FROM reverse_etl.sync('sf echo');
SELECT count(*) AS runs_showing_secrets FROM reverse_etl.sync_runs
 WHERE mapping LIKE 'sf %' AND error LIKE '%Zq81x%';
SELECT count(*) AS record_errors_showing_secrets FROM reverse_etl.record_errors
 WHERE mapping LIKE 'sf %' AND (error LIKE '%Zq81x%' OR payload::text LIKE '%Zq81x%');
SELECT count(*) AS destinations_showing_secrets FROM reverse_etl.destinations
 WHERE name LIKE 'sf %' AND settings::text LIKE '%Zq81x%';

-- Clean up.
SELECT mock_reset();
SELECT name, reverse_etl.drop_model(name, cascade => true)
  FROM reverse_etl.models WHERE name LIKE 'sf %' ORDER BY name;
SELECT name, reverse_etl.drop_destination(name)
  FROM reverse_etl.destinations WHERE name LIKE 'sf %' ORDER BY name;
DROP OWNED BY regress_sf_owner, regress_sf_nologin;
DROP ROLE regress_sf_owner, regress_sf_nologin;
DROP FUNCTION sf_setup(text, jsonb, text, text), sf_sync(text), sf_requests(), sf_errors(text),
              sf_wait_idle(text), sf_wait_succeeded(text, int), sf_connect_caller();
DROP EXTENSION dblink;
DROP TABLE sf_people, sf_owned;
RESET reverse_etl.max_request_attempts;
RESET client_min_messages;
