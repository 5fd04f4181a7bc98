-- Helpers for the sync tests: talk to the mock destination that the test
-- runner started on 127.0.0.1 (port in $REVERSE_ETL_MOCK_PORT). They use
-- COPY ... PROGRAM 'curl ...', so the tests run as a superuser.
\getenv mock_port REVERSE_ETL_MOCK_PORT
SET regress.mock_port = :'mock_port';
-- Later sessions (every later test) get it too.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET regress.mock_port = %L', current_database(),
                   current_setting('regress.mock_port'));
END $$;

-- The mock's base URL, plus a path.
CREATE FUNCTION public.mock_url(path text DEFAULT '') RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'http://127.0.0.1:' || current_setting('regress.mock_port') || path
$$;

-- COPY's CSV format with quote and delimiter characters that JSON never
-- contains passes lines through untouched (no quoting, no backslash escapes).
CREATE FUNCTION public.mock_post(path text, body text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COPY (SELECT %L) TO PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
                   body, format('curl -sf -X POST --data-binary @- %s >/dev/null', public.mock_url(path)));
END $$;

-- Forget recorded requests and configuration.
CREATE FUNCTION public.mock_reset() RETURNS void
LANGUAGE sql AS $$ SELECT public.mock_post('/_mock/reset', '{}') $$;

-- How the mock answers (see test/README-mock.md).
CREATE FUNCTION public.mock_config(config jsonb) RETURNS void
LANGUAGE sql AS $$ SELECT public.mock_post('/_mock/config', config::text) $$;

-- Every request the mock recorded, in arrival order: seq, method, path,
-- headers (lower-case names), body (text), status, ...
CREATE FUNCTION public.mock_requests() RETURNS SETOF jsonb
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.mock_lines') IS NULL THEN
        CREATE TEMP TABLE mock_lines (line text);
    END IF;
    TRUNCATE mock_lines;
    EXECUTE format('COPY mock_lines FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
                   format('curl -sf %s', public.mock_url('/_mock/requests.jsonl')));
    RETURN QUERY SELECT line::jsonb FROM mock_lines ORDER BY (line::jsonb->>'seq')::int;
END $$;

-- The records the mock received, one row per record: a request body that is
-- an array, or a {"batch": [...]} wrapper, counts each element.
CREATE FUNCTION public.mock_records() RETURNS TABLE(seq int, path text, record jsonb)
LANGUAGE sql AS $$
    SELECT (r->>'seq')::int, r->>'path', e
      FROM public.mock_requests() AS r,
           LATERAL (SELECT (r->>'body')::jsonb AS body) AS b,
           LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(b.body) = 'array' THEN b.body
                                             WHEN b.body ? 'batch' THEN b.body->'batch'
                                             ELSE jsonb_build_array(b.body) END) AS e
     ORDER BY 1
$$;

-- What a vendor mock (test/mocks/<type>.py) holds: GET /__vendor/state.
CREATE FUNCTION public.mock_vendor_state() RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    state jsonb;
BEGIN
    IF to_regclass('pg_temp.mock_state_lines') IS NULL THEN
        CREATE TEMP TABLE mock_state_lines (line text);
    END IF;
    TRUNCATE mock_state_lines;
    EXECUTE format('COPY mock_state_lines FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
                   format('curl -sf %s', public.mock_url('/__vendor/state')));
    SELECT string_agg(line, E'\n')::jsonb INTO state FROM mock_state_lines;
    RETURN state;
END $$;

-- A sync's outcome without its varying parts.
CREATE FUNCTION public.sync_outcome(mapping text)
RETURNS TABLE(status text, extracted bigint, succeeded bigint, failed bigint, error text)
LANGUAGE sql AS $$
    SELECT status, records_extracted, records_succeeded, records_failed, error FROM reverse_etl.sync(mapping)
$$;

-- Smoke test: the mock records what it gets and answers as configured.
SELECT public.mock_reset();
SELECT public.mock_config('{"default": {"status": 202, "body": {"accepted": true}}}');
SELECT public.mock_post('/smoke', '{"hello": "world", "quote": "a\"b\\c"}');
SELECT r->>'method' AS method, r->>'path' AS path, (r->>'body')::jsonb AS body, r->'status' AS status
  FROM public.mock_requests() AS r;
SELECT public.mock_reset();
SELECT count(*) AS requests FROM public.mock_requests();
