-- Security of runs (SPEC sections 2 and 9, docs/security.md): a model's code
-- runs as its owner, read-only and security-restricted, and never gets a
-- chance to make a more privileged role run code of its own. Needs
-- sync_setup (mock helpers). Runs as a superuser and switches roles with
-- SET ROLE; every error is followed by its SQLSTATE.
--
-- regress_sec_a owns ordinary data; regress_sec_b may only use the extension
-- (USAGE and EXECUTE) and tries to get code of its own run with more rights.
-- Anything that ever runs b's trap as another role writes that role into
-- sec_pwned: the test fails loudly if a route is ever reopened.
SET client_min_messages = warning;
CREATE ROLE regress_sec_a LOGIN;
CREATE ROLE regress_sec_b LOGIN;
GRANT USAGE ON SCHEMA reverse_etl TO regress_sec_a, regress_sec_b;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO regress_sec_a, regress_sec_b;
CREATE SCHEMA regress_sec_a AUTHORIZATION regress_sec_a;
CREATE SCHEMA regress_sec_b AUTHORIZATION regress_sec_b;
CREATE TABLE public.sec_pwned (run_as name, superuser boolean, via text);
GRANT INSERT ON public.sec_pwned TO PUBLIC;
RESET client_min_messages;

-- 1. b's trap, and b's attempts to plant it where the run's work tables are.
SET ROLE regress_sec_b;
CREATE TABLE regress_sec_b.items (id int PRIMARY KEY, name text);
INSERT INTO regress_sec_b.items VALUES (1, 'one');
CREATE FUNCTION regress_sec_b.trap() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sec_pwned
    SELECT current_user, r.rolsuper, 'trap' FROM pg_catalog.pg_roles r WHERE r.rolname = current_user;
    RETURN true;
END $$;
CREATE FUNCTION regress_sec_b.pwn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM regress_sec_b.trap();
    RETURN NULL;
END $$;
-- Called by the model for each row: tries every route, reports each refusal
-- in one NOTICE, and lets the model go on.
CREATE FUNCTION regress_sec_b.plant() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    attempts text[] := ARRAY[
        'CREATE TRIGGER t AFTER INSERT OR UPDATE OR DELETE ON pg_temp.reverse_etl_changes '
            'FOR EACH STATEMENT EXECUTE FUNCTION regress_sec_b.pwn()',
        'CREATE TRIGGER t AFTER INSERT OR UPDATE OR DELETE ON pg_temp.reverse_etl_outbox '
            'FOR EACH STATEMENT EXECUTE FUNCTION regress_sec_b.pwn()',
        'ALTER TABLE pg_temp.reverse_etl_changes ALTER COLUMN copies SET DEFAULT length(regress_sec_b.trap()::text)',
        'DELETE FROM pg_temp.reverse_etl_changes',
        'CREATE TEMP TABLE sneaky (x int)',
        'SET ROLE NONE',
        'SET SESSION AUTHORIZATION DEFAULT',
        'INSERT INTO regress_sec_b.items VALUES (2, ''two'')'];
    attempt text;
    outcomes text := '';
BEGIN
    FOREACH attempt IN ARRAY attempts LOOP
        BEGIN
            EXECUTE attempt;
            outcomes := outcomes || E'\n  ' || split_part(attempt, ' ', 1) || ': SUCCEEDED';
        EXCEPTION WHEN others THEN
            outcomes := outcomes || E'\n  ' || left(attempt, 40) || ': ' || SQLERRM || ' (' || SQLSTATE || ')';
        END;
    END LOOP;
    -- What b holds on the work tables: not ownership, no TRIGGER.
    outcomes := outcomes || E'\n  work tables b owns: ' ||
        (SELECT count(*) FROM pg_catalog.pg_class c
          WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relname LIKE 'reverse_etl_%'
            AND c.relowner = current_user::regrole) ||
        ', with TRIGGER, UPDATE, DELETE or TRUNCATE: ' ||
        (SELECT count(*) FROM pg_catalog.pg_class c
          WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relname LIKE 'reverse_etl_%'
            AND pg_catalog.has_table_privilege(c.oid, 'TRIGGER, UPDATE, DELETE, TRUNCATE'));
    RAISE NOTICE 'b''s code, as %:%', current_user, outcomes;
    RETURN 1;
END $$;
SELECT reverse_etl.create_model(name => 'sec b items',
    query => 'SELECT id, name, regress_sec_b.plant() AS planted FROM regress_sec_b.items',
    primary_key => 'id');
SELECT reverse_etl.create_destination(name => 'sec b hook', type => 'webhook',
    settings => jsonb_build_object('url', mock_url('/sec')), enabled => true);
SELECT reverse_etl.create_mapping(model => 'sec b items', destination => 'sec b hook', action => 'send',
    fields => '{"id": "id", "name": "name"}', name => 'sec b');
-- A dry run in b's own session: the model's code runs while the work tables
-- fill, and every route is closed.
SELECT record_id, change FROM reverse_etl.preview_mapping('sec b');
RESET ROLE;
-- The same dry run by a superuser.
SELECT record_id, change FROM reverse_etl.preview_mapping('sec b');
-- Real runs, by b and by a superuser, in the sync worker (b's NOTICEs stay in
-- the worker's log): the first run fills the outbox from the model, the
-- second diffs against the checkpoint, the third sets an invalid record
-- aside (the statement the original attack fired its trigger on).
SET client_min_messages = warning;
SELECT mock_reset();
SET ROLE regress_sec_b;
SELECT status, records_added, records_succeeded, error FROM reverse_etl.sync('sec b');
RESET ROLE;
UPDATE regress_sec_b.items SET name = 'one v2';
SELECT status, records_updated, records_succeeded, error FROM reverse_etl.sync('sec b');
SELECT reverse_etl.alter_model('sec b items',
    query => 'SELECT id, name, regress_sec_b.plant() AS planted FROM regress_sec_b.items
              UNION ALL SELECT 1, ''duplicate'', regress_sec_b.plant()');
SELECT status, records_invalid, error FROM reverse_etl.sync('sec b');
SELECT reverse_etl.reset_mapping('sec b');
SELECT status, records_added, records_invalid, error FROM reverse_etl.sync('sec b');
RESET client_min_messages;
SELECT count(*) AS requests FROM mock_requests();
-- b's code never ran as anyone else, and b's table got no row.
SELECT * FROM public.sec_pwned;
SELECT count(*) AS items FROM regress_sec_b.items;

-- 2. Relations of b's own session named like the work tables are not the
-- work tables: a dry run refuses rather than drop or fill them.
SET ROLE regress_sec_b;
CREATE TEMP TABLE reverse_etl_outbox (rid text, chg text, hash bigint, vals text);
CREATE TRIGGER t AFTER INSERT OR DELETE ON pg_temp.reverse_etl_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION regress_sec_b.pwn();
SELECT record_id FROM reverse_etl.preview_mapping('sec b');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS still_there FROM pg_temp.reverse_etl_outbox;
DROP TABLE pg_temp.reverse_etl_outbox;
-- Temporary relations named like system catalogs come first on a search_path
-- that does not name pg_temp; the extension's own statements name it last,
-- so b's look-alikes are never read by the catalog owner.
CREATE TEMP VIEW pg_class AS SELECT * FROM pg_catalog.pg_class WHERE regress_sec_b.trap();
CREATE TEMP VIEW pg_namespace AS SELECT * FROM pg_catalog.pg_namespace WHERE regress_sec_b.trap();
CREATE TEMP VIEW pg_roles AS SELECT * FROM pg_catalog.pg_roles WHERE regress_sec_b.trap();
CREATE TEMP VIEW pg_locks AS SELECT * FROM pg_catalog.pg_locks WHERE regress_sec_b.trap();
CREATE TEMP VIEW pg_database AS SELECT * FROM pg_catalog.pg_database WHERE regress_sec_b.trap();
CREATE TEMP VIEW pg_index AS SELECT * FROM pg_catalog.pg_index WHERE regress_sec_b.trap();
SET client_min_messages = warning;
SELECT count(*) AS previewed FROM reverse_etl.preview_mapping('sec b');
SELECT count(*) AS rows FROM reverse_etl.preview_model('sec b items');
SELECT reverse_etl.create_model(name => 'sec b second', query => 'SELECT id FROM regress_sec_b.items',
    primary_key => 'id');
SELECT reverse_etl.create_mapping(model => 'sec b second', destination => 'sec b hook', action => 'send',
    fields => '{"id": "id"}', name => 'sec b second');
SELECT (reverse_etl.send_test_record('sec b second'))->'response'->'status' AS test_status;
SELECT status FROM reverse_etl.sync('sec b second');
SELECT reverse_etl.drop_mapping('sec b second');
SELECT reverse_etl.drop_model('sec b second');
RESET client_min_messages;
DROP VIEW pg_temp.pg_class, pg_temp.pg_namespace, pg_temp.pg_roles, pg_temp.pg_locks,
          pg_temp.pg_database, pg_temp.pg_index;
RESET ROLE;
-- Nothing read b's look-alikes: the trap never ran.
SELECT * FROM public.sec_pwned;

-- 3. Models are read-only: a model whose function writes fails, named after
-- the model, in every place a model runs, and writes nothing.
SET ROLE regress_sec_a;
CREATE TABLE regress_sec_a.t (id int PRIMARY KEY);
INSERT INTO regress_sec_a.t VALUES (1), (2);
CREATE TABLE regress_sec_a.audit (id int);
CREATE SEQUENCE regress_sec_a.seq;
CREATE FUNCTION regress_sec_a.writer(id int) RETURNS int LANGUAGE sql AS
    'INSERT INTO regress_sec_a.audit VALUES (id) RETURNING id';
SELECT reverse_etl.create_model(name => 'sec a writer', query => 'SELECT id, regress_sec_a.writer(id) AS w FROM regress_sec_a.t',
    primary_key => 'id');
SELECT reverse_etl.create_model(name => 'sec a nextval', query => 'SELECT id, nextval(''regress_sec_a.seq'') AS n FROM regress_sec_a.t',
    primary_key => 'id');
SELECT reverse_etl.create_destination(name => 'sec a hook', type => 'webhook',
    settings => jsonb_build_object('url', mock_url('/sec')), enabled => true);
SELECT reverse_etl.create_mapping(model => 'sec a writer', destination => 'sec a hook', action => 'send',
    fields => '{"id": "id"}', name => 'sec a writer');
SELECT reverse_etl.create_mapping(model => 'sec a nextval', destination => 'sec a hook', action => 'send',
    fields => '{"id": "id"}', name => 'sec a nextval');
SELECT * FROM reverse_etl.preview_model('sec a writer');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.preview_mapping('sec a writer');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.send_test_record('sec a writer');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.preview_model('sec a nextval');
\echo :LAST_ERROR_SQLSTATE
-- Nor can a model switch read-only off; switching it on (even with SET
-- LOCAL) ends with the model: the caller's transaction goes on read-write.
CREATE FUNCTION regress_sec_a.read_only(mode text) RETURNS text LANGUAGE sql AS
    'SELECT set_config(''transaction_read_only'', mode, true)';
SELECT reverse_etl.create_model(name => 'sec a rw', query => 'SELECT id, regress_sec_a.read_only(''off'') AS m FROM regress_sec_a.t',
    primary_key => 'id');
SELECT reverse_etl.create_model(name => 'sec a ro', query => 'SELECT id, regress_sec_a.read_only(''on'') AS m FROM regress_sec_a.t',
    primary_key => 'id');
SELECT * FROM reverse_etl.preview_model('sec a rw');
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SELECT * FROM reverse_etl.preview_model('sec a ro');
SHOW transaction_read_only;
INSERT INTO regress_sec_a.audit VALUES (0);
COMMIT;
RESET ROLE;
SET client_min_messages = warning;
SELECT mock_reset();
SELECT status, error FROM reverse_etl.sync('sec a writer');
SELECT status, error FROM reverse_etl.sync('sec a nextval');
RESET client_min_messages;
SELECT count(*) AS requests FROM mock_requests();
SELECT array_agg(id) AS audit_rows FROM regress_sec_a.audit;
SELECT last_value, is_called FROM regress_sec_a.seq;
SELECT count(*) AS runs_left_running FROM reverse_etl.sync_runs
 WHERE mapping LIKE 'sec %' AND status IN ('queued', 'running');

-- 4. A model's unqualified names never resolve to the caller's temporary
-- relations: the model runs with pg_temp last on its search_path.
SET ROLE regress_sec_a;
SET search_path = regress_sec_a;
SELECT reverse_etl.create_model(name => 'sec a items', query => 'SELECT id FROM t', primary_key => 'id');
RESET search_path;
RESET ROLE;
CREATE TEMP TABLE t (id int);
INSERT INTO pg_temp.t VALUES (999);
SELECT * FROM reverse_etl.preview_model('sec a items');
DROP TABLE pg_temp.t;

-- 5. A mapping runs only while its owner may still use its model and
-- destination: regress_sec_c, a member of regress_sec_a, maps a's model;
-- once the membership is revoked, no preview, test send or run goes ahead,
-- whoever asks.
CREATE ROLE regress_sec_c LOGIN;
GRANT USAGE ON SCHEMA reverse_etl TO regress_sec_c;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO regress_sec_c;
GRANT regress_sec_a TO regress_sec_c;
SET ROLE regress_sec_c;
SELECT reverse_etl.create_destination(name => 'sec c hook', type => 'webhook',
    settings => jsonb_build_object('url', mock_url('/sec')), enabled => true);
SELECT reverse_etl.create_mapping(model => 'sec a items', destination => 'sec c hook', action => 'send',
    fields => '{"id": "id"}', name => 'sec c');
SELECT count(*) AS previewed FROM reverse_etl.preview_mapping('sec c');
RESET ROLE;
REVOKE regress_sec_a FROM regress_sec_c;
SET ROLE regress_sec_c;
SELECT * FROM reverse_etl.preview_mapping('sec c');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.send_test_record('sec c');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET client_min_messages = warning;
SELECT mock_reset();
SELECT status, error FROM reverse_etl.sync('sec c');
RESET client_min_messages;
SELECT count(*) AS requests FROM mock_requests();

-- Clean up.
SET client_min_messages = warning;
SELECT mock_reset();
SELECT reverse_etl.drop_model(name, cascade => true) FROM reverse_etl.models WHERE name LIKE 'sec %';
SELECT reverse_etl.drop_destination(name) FROM reverse_etl.destinations WHERE name LIKE 'sec %';
DROP TABLE public.sec_pwned;
DROP OWNED BY regress_sec_a, regress_sec_b, regress_sec_c;
DROP ROLE regress_sec_a, regress_sec_b, regress_sec_c;
RESET client_min_messages;
