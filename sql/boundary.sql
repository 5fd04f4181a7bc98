-- The C++/PostgreSQL boundary: errors cross it both ways with their SQLSTATE,
-- message, detail and hint, and failing calls leave no memory behind.

-- An error raised deep inside C++ (settings validation) reaches psql with its
-- SQLSTATE, detail and hint.
SELECT reverse_etl.create_destination('b_hook', 'webhook', '{"url": "http://127.0.0.1:18080/b", "batch_size": 9000}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('b_hook', 'webhook', '{"urll": "http://127.0.0.1:18080/b"}');
\echo :LAST_ERROR_SQLSTATE

-- A PostgreSQL error raised under C++ frames (the analyzer, called through the
-- guard) is re-raised with PostgreSQL's own SQLSTATE and words.
SELECT * FROM reverse_etl.preview_query('SELECT * FROM public.no_such_table');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.preview_query('SELECT nope FROM public.users');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.preview_query('SELEC 1');
\echo :LAST_ERROR_SQLSTATE
-- ... and an error from executing the query itself (division by zero at run time).
SELECT * FROM reverse_etl.preview_query('SELECT 1 / (id - id) AS boom FROM public.users');
\echo :LAST_ERROR_SQLSTATE

-- The errors are ordinary errors: PL/pgSQL can catch them by condition name.
DO $$
BEGIN
    PERFORM reverse_etl.preview_query('SELECT * FROM public.no_such_table');
EXCEPTION WHEN undefined_table THEN
    RAISE NOTICE 'caught undefined_table: %', SQLERRM;
END $$;
DO $$
BEGIN
    PERFORM reverse_etl.create_destination('b_hook', 'no_such_type');
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE NOTICE 'caught invalid_parameter_value: %', SQLERRM;
END $$;

-- After all those errors the session works normally.
SELECT * FROM reverse_etl.preview_query('SELECT id, plan FROM public.users ORDER BY id', 'id', 2);

-- Run both kinds of failing call 10,000 times each in one session and check
-- that neither PostgreSQL memory contexts nor the process's resident memory
-- (where C++'s heap lives) grow. A warm-up round first lets caches settle.
CREATE FUNCTION pg_temp.fail_many(calls int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..calls LOOP
        BEGIN
            PERFORM reverse_etl.preview_query('SELECT * FROM public.no_such_table');
        EXCEPTION WHEN undefined_table THEN NULL;
        END;
        BEGIN
            PERFORM reverse_etl.create_destination('b_hook', 'webhook', '{"url": 5}');
        EXCEPTION WHEN invalid_parameter_value THEN NULL;
        END;
    END LOOP;
END $$;
CREATE FUNCTION pg_temp.context_bytes() RETURNS bigint LANGUAGE sql AS
    'SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts';
CREATE FUNCTION pg_temp.rss_kb() RETURNS bigint LANGUAGE sql AS $$
    SELECT substring(line FROM '([0-9]+)')::bigint
      FROM regexp_split_to_table(pg_read_file('/proc/' || pg_backend_pid() || '/status'), E'\n') AS line
     WHERE line LIKE 'VmRSS:%'
$$;
SELECT pg_temp.fail_many(1000);
SELECT pg_temp.context_bytes() AS contexts_before, pg_temp.rss_kb() AS rss_before \gset
SELECT pg_temp.fail_many(10000);
SELECT pg_temp.context_bytes() - :contexts_before < 64 * 1024 AS contexts_flat,
       pg_temp.rss_kb() - :rss_before < 2048 AS rss_flat;
