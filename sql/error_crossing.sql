-- The C++/PostgreSQL error crossing (src/pg/error_crossing.hpp) under
-- failures no SQL of the extension provokes on purpose: C++ exceptions of
-- every kind thrown inside pg_guard, a guarded error inside HOLD_INTERRUPTS,
-- scopes left by an exception; and numbers read from untrusted text (a
-- Retry-After header, settings). The test-only C functions are in the
-- library, not in the extension (src/sql_api/boundary_selftest.cpp): declared here.
-- Needs sync_setup (mock helpers). Every error is followed by its SQLSTATE.
CREATE SCHEMA retl_test;
CREATE FUNCTION retl_test.guard_throw(kind text, escape boolean) RETURNS text
    LANGUAGE c AS '$libdir/reverse_etl', 'reverse_etl_test_guard_throw';
CREATE FUNCTION retl_test.holdoff_after_error() RETURNS text
    LANGUAGE c AS '$libdir/reverse_etl', 'reverse_etl_test_holdoff_after_error';
CREATE FUNCTION retl_test.spi_after_cpp_error() RETURNS text
    LANGUAGE c AS '$libdir/reverse_etl', 'reverse_etl_test_spi_after_cpp_error';
CREATE FUNCTION retl_test.role_scope_failure(role text) RETURNS text
    LANGUAGE c AS '$libdir/reverse_etl', 'reverse_etl_test_role_scope_failure';
CREATE FUNCTION retl_test.retry_after_ms(value text) RETURNS bigint
    LANGUAGE c AS '$libdir/reverse_etl', 'reverse_etl_test_retry_after_ms';

-- 1. A C++ exception of any type thrown inside pg_guard comes out of it as
-- itself, and PostgreSQL's exception stack (where the next ERROR longjmps to)
-- and error context stack are what they were: the exception did not leave
-- them pointing into the guard's dead frame.
SELECT kind, retl_test.guard_throw(kind, false)
  FROM unnest(ARRAY['runtime_error', 'bad_alloc', 'error', 'int', 'postgres']) AS kind;

-- ... and let through to the SQL function's shim, each becomes an ERROR
-- (std::bad_alloc as out of memory, 53200); the session goes on normally.
SELECT retl_test.guard_throw('runtime_error', true);
\echo :LAST_ERROR_SQLSTATE
SELECT retl_test.guard_throw('bad_alloc', true);
\echo :LAST_ERROR_SQLSTATE
SELECT retl_test.guard_throw('error', true);
\echo :LAST_ERROR_SQLSTATE
SELECT retl_test.guard_throw('int', true);
\echo :LAST_ERROR_SQLSTATE
SELECT retl_test.guard_throw('postgres', true);
\echo :LAST_ERROR_SQLSTATE
-- PL/pgSQL catches them, and PostgreSQL errors after them land where they should.
DO $$
BEGIN
    PERFORM retl_test.guard_throw('runtime_error', true);
EXCEPTION WHEN internal_error THEN
    RAISE NOTICE 'caught: %', SQLERRM;
    PERFORM 1 / 0;
END $$;
\echo :LAST_ERROR_SQLSTATE
SELECT 'the session still works' AS after_throws;

-- 2. A guarded PostgreSQL error inside InterruptHoldoff (record_end holds off
-- interrupts so that a shutdown still lets a run record how it ended):
-- errfinish zeroes the holdoff count before its longjmp, and the guard puts
-- it back, so the scope's end brings it to where it was, not below zero.
SELECT retl_test.holdoff_after_error();
-- Interrupts are processed afterwards: a statement timeout still cancels.
SET statement_timeout = '200ms';
SELECT pg_catalog.pg_sleep(5);
\echo :LAST_ERROR_SQLSTATE
RESET statement_timeout;

-- 3. An SPI connection whose scope a C++ exception leaves is finished (the
-- caller may catch the exception and carry on); none is left open.
SELECT retl_test.spi_after_cpp_error();

-- 4. A role scope whose constructor fails after switching the user (its
-- search_path is refused) puts back user, security context, read-only flag
-- and search_path before the error goes on.
CREATE ROLE retl_test_role NOLOGIN;
SELECT retl_test.role_scope_failure('retl_test_role');
SELECT current_user = session_user AS same_user, current_setting('transaction_read_only') AS read_only;

-- 5. Retry-After, from the destination, is read without std::stoll: a number
-- too big for any type is far in the future (capped at 10 minutes, 600000
-- ms); what is not a delta-seconds or an HTTP-date is ignored (NULL: the
-- client then backs off on its own).
SELECT value, retl_test.retry_after_ms(value) AS delay_ms
  FROM unnest(ARRAY['120', ' 7 ', '0', '99999999999999999999', '9223372036854775807',
                    '9223372036854775808', '-5', '+5', '1e3', '12 s', '0x10', '',
                    'Thu, 01 Jan 1970 00:00:00 GMT', 'Fri, 31 Dec 9999 23:59:59 GMT']) AS value;

-- ... and from the mock: a 429 whose Retry-After is 99999999999999999999
-- makes the run wait (the cap), not retry at once nor fail; cancel_sync
-- stops it. The run is started by run_due_syncs (this database has no launcher).
SET client_min_messages = warning;
SELECT reverse_etl.create_model('ec one', 'SELECT id FROM public.users WHERE id = 1', 'id');
SELECT reverse_etl.create_destination('ec retry', 'webhook',
    jsonb_build_object('url', mock_url('/ec')), enabled => true);
SELECT reverse_etl.create_mapping('ec one', 'ec retry', 'send', '{"id": "id"}', name => 'ec retry');
SELECT mock_reset();
SELECT mock_config('{"script": [{"status": 429, "headers": {"Retry-After": "99999999999999999999"}}]}');
CREATE FUNCTION retl_test.wait_for(query text, seconds int DEFAULT 30) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    ok boolean;
BEGIN
    FOR i IN 1..seconds * 10 LOOP
        EXECUTE query INTO ok;
        IF ok THEN
            RETURN true;
        END IF;
        PERFORM pg_catalog.pg_sleep(0.1);
    END LOOP;
    RETURN false;
END $$;
SELECT reverse_etl.request_sync('ec retry') > 0 AS queued;
SELECT reverse_etl.run_due_syncs() AS started;
SELECT retl_test.wait_for('SELECT count(*) = 1 FROM mock_requests()') AS first_request_answered_429;
SELECT pg_catalog.pg_sleep(1.5);
SELECT count(*) AS requests_after_waiting FROM mock_requests();
SELECT mapping, phase FROM reverse_etl.sync_progress WHERE mapping = 'ec retry';
SELECT reverse_etl.cancel_sync('ec retry') AS signalled;
SELECT retl_test.wait_for($$SELECT status <> 'running' FROM reverse_etl.sync_runs WHERE mapping = 'ec retry'$$)
    AS run_ended;
SELECT status, error, records_succeeded FROM reverse_etl.sync_runs WHERE mapping = 'ec retry';
RESET client_min_messages;

-- 6. Numbers in settings are read the same way: out of range, they are
-- refused with the setting's own message, not an exception.
SET reverse_etl.blocked_networks = '10.0.0.0/99999999999999999999';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.allowed_hosts = '127.0.0.1:99999999999999999999';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.allowed_hosts = '127.0.0.1:-1';
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('ec port', 'webhook',
    '{"url": "http://127.0.0.1:99999999999999999999/"}');
\echo :LAST_ERROR_SQLSTATE

SELECT reverse_etl.drop_mapping('ec retry');
SELECT reverse_etl.drop_destination('ec retry');
SELECT reverse_etl.drop_model('ec one');
DROP SCHEMA retl_test CASCADE;
DROP ROLE retl_test_role;
