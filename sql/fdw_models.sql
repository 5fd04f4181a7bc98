-- Warehouses without the PostgreSQL protocol are reached through a foreign
-- data wrapper and a local model over the foreign tables (SPEC 10,
-- docs/sources.md). postgres_fdw stands in for any FDW: a second database of
-- this cluster plays the warehouse (a separate database, not a schema of this
-- one, so that nothing can be read without the wrapper), reached over the
-- temporary instance's Unix socket, which pg_regress's cluster trusts.
-- Runs against the mock destination (sql/sync_setup.sql); the socket
-- directory, the port, run ids and timestamps are never printed.

-- The "warehouse".
CREATE DATABASE regress_fdw_warehouse;
\c regress_fdw_warehouse
CREATE SCHEMA sales;
CREATE TABLE sales.customers (
    id     int PRIMARY KEY,
    email  text NOT NULL,
    plan   text NOT NULL,
    active boolean NOT NULL
);
INSERT INTO sales.customers VALUES
    (1, 'ann@fm.test', 'pro', true),
    (2, 'bob@fm.test', 'team', true),
    (3, 'cy@fm.test', 'pro', true),
    (4, 'dee@fm.test', 'pro', false);
\c contrib_regression

-- Helpers. A run's NOTICEs name its run id, so syncs run with
-- client_min_messages = warning.

-- One sync after clearing the mock: its counters, its error and what the
-- mock received, as "id:change" in id order.
CREATE FUNCTION fm_run(m text)
RETURNS TABLE(status text, extracted bigint, added bigint, updated bigint, deleted bigint, unchanged bigint,
              succeeded bigint, sent text, error text)
LANGUAGE plpgsql SET client_min_messages = warning AS $$
BEGIN
    PERFORM public.mock_reset();
    RETURN QUERY
    SELECT r.status, r.records_extracted, r.records_added, r.records_updated, r.records_deleted,
           r.records_unchanged, r.records_succeeded,
           (SELECT string_agg(format('%s:%s', x.record->>'id', x.record->>'change'), ' '
                              ORDER BY x.record->>'id', x.record->>'change')
              FROM public.mock_records() AS x),
           r.error
      FROM reverse_etl.sync(m) AS r;
END $$;

-- A mapping's checkpoint (reverse_etl_state.checkpoint_<mapping_id>).
CREATE FUNCTION fm_checkpoint(m text) RETURNS TABLE(record_id text, hash bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT record_id, hash FROM reverse_etl_state.checkpoint_%s ORDER BY record_id',
                                (SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = m));
END $$;

-- The plan of a model's stored query.
CREATE FUNCTION fm_explain(model text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' ||
                        (SELECT query FROM reverse_etl.models WHERE name = model) LOOP
        RETURN NEXT line;
    END LOOP;
END $$;

-------------------------------------------------------------------------------
-- The wrapper, its server, a user mapping and the imported foreign table.
-------------------------------------------------------------------------------
CREATE EXTENSION postgres_fdw;
-- CREATE SERVER takes literal options: the instance's socket directory and
-- port are only known at run time.
DO $$
BEGIN
    EXECUTE format('CREATE SERVER fm_warehouse FOREIGN DATA WRAPPER postgres_fdw
                    OPTIONS (host %L, port %L, dbname %L)',
                   split_part(current_setting('unix_socket_directories'), ',', 1),
                   current_setting('port'), 'regress_fdw_warehouse');
END $$;
-- The test runs as the bootstrap superuser, for whom postgres_fdw needs no
-- password (a non-superuser owner: at the end).
CREATE USER MAPPING FOR CURRENT_USER SERVER fm_warehouse;
CREATE SCHEMA fm_wh;
IMPORT FOREIGN SCHEMA sales LIMIT TO (customers) FROM SERVER fm_warehouse INTO fm_wh;
SELECT attname, format_type(atttypid, atttypmod), attnotnull
  FROM pg_attribute WHERE attrelid = 'fm_wh.customers'::regclass AND attnum > 0 ORDER BY attnum;
SELECT * FROM fm_wh.customers ORDER BY id;

-- A local table the model joins: who looks after each plan.
CREATE TABLE public.fm_plan_managers (plan text PRIMARY KEY, manager text NOT NULL);
INSERT INTO public.fm_plan_managers VALUES ('pro', 'pat'), ('team', 'tom');

-------------------------------------------------------------------------------
-- A model over the foreign table, joined with the local one.
-------------------------------------------------------------------------------
SELECT reverse_etl.create_model('fm customers',
    'SELECT c.id, c.email, c.plan, m.manager
       FROM fm_wh.customers AS c JOIN public.fm_plan_managers AS m ON m.plan = c.plan
      WHERE c.active AND c.email LIKE ''%@fm.test''', 'id');
SELECT name, primary_key, columns FROM reverse_etl.models WHERE name = 'fm customers';

-- What runs where: the foreign scan sends its columns and the WHERE clause
-- to the warehouse (Remote SQL); the join with the local table runs here.
-- (Both tables analyzed, so the plan does not depend on default estimates.)
ANALYZE public.fm_plan_managers;
ANALYZE fm_wh.customers;
SELECT * FROM fm_explain('fm customers');
-- A condition postgres_fdw cannot ship (a function of this database, not
-- built in, and not inlined) is evaluated here, on every row the warehouse
-- sends.
CREATE FUNCTION public.fm_is_internal(email text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN email LIKE 'a%'; END $$;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM fm_wh.customers WHERE active AND NOT public.fm_is_internal(email);

SELECT reverse_etl.create_destination('fm hook', 'webhook',
    jsonb_build_object('url', public.mock_url('/fm')), enabled => true);
SELECT reverse_etl.create_mapping('fm customers', 'fm hook', 'send',
    '{"id": "id", "email": "email", "plan": "plan", "manager": "manager", "change": {"meta": "change"}}',
    sync_mode => 'all', name => 'fm all');
-- Its rows change in the warehouse, where no trigger of this database sees
-- them: it cannot be live.
SELECT reverse_etl.create_mapping('fm customers', 'fm hook', 'send', '{"id": "id"}', schedule => 'live');
\echo :LAST_ERROR_SQLSTATE

-------------------------------------------------------------------------------
-- Syncs: the first sends every active customer; changes made in the
-- warehouse are found here, by comparing with the local checkpoint.
-------------------------------------------------------------------------------
SELECT * FROM fm_run('fm all');
SELECT record FROM public.mock_records() ORDER BY record->>'id';
SELECT record_id FROM fm_checkpoint('fm all');

\c regress_fdw_warehouse
UPDATE sales.customers SET email = 'bobby@fm.test' WHERE id = 2;
DELETE FROM sales.customers WHERE id = 3;
UPDATE sales.customers SET active = true WHERE id = 4;
\c contrib_regression
SELECT * FROM fm_run('fm all');
SELECT record FROM public.mock_records() ORDER BY record->>'id';
SELECT record_id FROM fm_checkpoint('fm all');
-- A change of the local table is a change of the model's records too.
UPDATE public.fm_plan_managers SET manager = 'tess' WHERE plan = 'team';
SELECT * FROM fm_run('fm all');
-- Nothing changed: nothing is sent.
SELECT * FROM fm_run('fm all');

-------------------------------------------------------------------------------
-- Failures: a statement or a connection that fails fails the run with the
-- warehouse's message, sends nothing and checkpoints nothing; the next run
-- that reads the warehouse sends what changed meanwhile.
-------------------------------------------------------------------------------
-- (A table, not a temporary one: \c starts a new session.)
CREATE TABLE public.fm_before AS SELECT * FROM fm_checkpoint('fm all');
\c regress_fdw_warehouse
UPDATE sales.customers SET plan = 'team' WHERE id = 1;
ALTER TABLE sales.customers RENAME TO customers_moved;
\c contrib_regression
-- The remote table is gone.
SELECT * FROM fm_run('fm all');
SELECT count(*) AS requests FROM public.mock_requests();
SELECT (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.record_id) FROM fm_checkpoint('fm all') AS c) =
       (SELECT jsonb_agg(to_jsonb(b) ORDER BY b.record_id) FROM public.fm_before AS b) AS checkpoint_unchanged;
SELECT * FROM reverse_etl.preview_mapping('fm all');
\echo :LAST_ERROR_SQLSTATE
SELECT status, error FROM reverse_etl.sync_runs WHERE mapping = 'fm all' ORDER BY run_id DESC LIMIT 1;

\c regress_fdw_warehouse
ALTER TABLE sales.customers_moved RENAME TO customers;
\c contrib_regression
-- The server cannot be reached (nothing listens on port 1). Only the first
-- line of the error is shown: postgres_fdw's detail names the socket
-- directory, which varies.
ALTER SERVER fm_warehouse OPTIONS (SET port '1');
SELECT status, extracted, succeeded, sent, split_part(error, E'\n', 1) AS error FROM fm_run('fm all');
SELECT (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.record_id) FROM fm_checkpoint('fm all') AS c) =
       (SELECT jsonb_agg(to_jsonb(b) ORDER BY b.record_id) FROM public.fm_before AS b) AS checkpoint_unchanged;
DO $$
BEGIN
    EXECUTE format('ALTER SERVER fm_warehouse OPTIONS (SET port %L)', current_setting('port'));
END $$;
-- Reachable again: the change made while the runs failed goes now.
SELECT * FROM fm_run('fm all');
SELECT record FROM public.mock_records() ORDER BY record->>'id';
DROP TABLE public.fm_before;

-------------------------------------------------------------------------------
-- A model owner that is not a superuser: the model still runs as its owner,
-- and postgres_fdw connects with the owner's user mapping. It refuses a
-- non-superuser's connection that no password authenticated: otherwise the
-- role would borrow the server's own credentials (trust or peer for its OS
-- user, its certificate, its .pgpass) and could read as any remote role.
-- Only a superuser can waive that for a mapping (password_required 'false'),
-- e.g. where the warehouse authenticates the server and maps each mapping's
-- user itself.
-------------------------------------------------------------------------------
CREATE ROLE regress_fm_analyst LOGIN;
CREATE ROLE regress_fm_reader LOGIN;
GRANT USAGE ON SCHEMA reverse_etl TO regress_fm_analyst;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO regress_fm_analyst;
GRANT USAGE ON FOREIGN SERVER fm_warehouse TO regress_fm_analyst;
GRANT USAGE ON SCHEMA fm_wh TO regress_fm_analyst;
GRANT SELECT ON fm_wh.customers TO regress_fm_analyst;
-- In the warehouse, the analyst's mapping reads as a role of its own that may
-- read the table and nothing else.
\c regress_fdw_warehouse
GRANT USAGE ON SCHEMA sales TO regress_fm_reader;
GRANT SELECT ON sales.customers TO regress_fm_reader;
\c contrib_regression
SET ROLE regress_fm_analyst;
CREATE USER MAPPING FOR CURRENT_USER SERVER fm_warehouse OPTIONS (user 'regress_fm_reader');
-- Creating the model plans its query, and postgres_fdw refuses to connect.
SELECT reverse_etl.create_model('fm analyst customers',
    'SELECT id, email FROM fm_wh.customers WHERE active', 'id');
\echo :LAST_ERROR_SQLSTATE
-- The analyst cannot waive the password.
ALTER USER MAPPING FOR CURRENT_USER SERVER fm_warehouse OPTIONS (ADD password_required 'false');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- A superuser can.
ALTER USER MAPPING FOR regress_fm_analyst SERVER fm_warehouse OPTIONS (ADD password_required 'false');
SET ROLE regress_fm_analyst;
SELECT reverse_etl.create_model('fm analyst customers',
    'SELECT id, email FROM fm_wh.customers WHERE active', 'id');
SELECT reverse_etl.create_destination('fm analyst hook', 'webhook',
    jsonb_build_object('url', public.mock_url('/fm-analyst')), enabled => true);
SELECT reverse_etl.create_mapping('fm analyst customers', 'fm analyst hook', 'send',
    '{"id": "id", "email": "email", "change": {"meta": "change"}}', name => 'fm analyst');
RESET ROLE;
-- The run, started by the superuser, reads through the analyst's mapping, as
-- regress_fm_reader in the warehouse.
SELECT * FROM fm_run('fm analyst');
\c regress_fdw_warehouse
REVOKE SELECT ON sales.customers FROM regress_fm_reader;
\c contrib_regression
-- The warehouse's own privileges apply to that remote role.
SELECT status, extracted, sent, error FROM fm_run('fm analyst');

-------------------------------------------------------------------------------
-- Clean up: the syncs, the wrapper, the warehouse and the roles.
-------------------------------------------------------------------------------
SELECT public.mock_reset();
SELECT reverse_etl.drop_model('fm analyst customers', cascade => true);
SELECT reverse_etl.drop_destination('fm analyst hook');
SELECT reverse_etl.drop_model('fm customers', cascade => true);
SELECT reverse_etl.drop_destination('fm hook');
DROP FUNCTION fm_run(text), fm_checkpoint(text), fm_explain(text), public.fm_is_internal(text);
DROP TABLE public.fm_plan_managers;
-- This session's cached connection goes first, so the warehouse can be dropped.
DO $$ BEGIN PERFORM postgres_fdw_disconnect_all(); END $$;
DROP SCHEMA fm_wh CASCADE;
DROP USER MAPPING FOR regress_fm_analyst SERVER fm_warehouse;
DROP USER MAPPING FOR CURRENT_USER SERVER fm_warehouse;
DROP SERVER fm_warehouse;
DROP EXTENSION postgres_fdw;
DROP DATABASE regress_fdw_warehouse;
DROP OWNED BY regress_fm_analyst, regress_fm_reader;
DROP ROLE regress_fm_analyst, regress_fm_reader;
