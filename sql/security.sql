-- Security (SPEC section 9): owners and visibility, privileges, secrets, and
-- model queries that run as their owner. Runs as a superuser and switches
-- roles with SET ROLE; every error is followed by its SQLSTATE.

-- alice and bob are unrelated login roles; carol is a member of alice (and so
-- inherits her privileges). Roles are cluster-wide: they are dropped at the end.
CREATE ROLE regress_alice LOGIN;
CREATE ROLE regress_bob LOGIN;
CREATE ROLE regress_carol LOGIN IN ROLE regress_alice;
-- alice's own data, in a schema named like her so that "$user" finds it.
CREATE SCHEMA regress_alice AUTHORIZATION regress_alice;

-- 1. Without grants a role cannot use the extension.
SET ROLE regress_alice;
SELECT reverse_etl.create_model(name => 'alice customers', query => 'SELECT 1 AS id', primary_key => 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT name FROM reverse_etl.models;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- USAGE on the schema alone makes the views readable, but not the functions.
GRANT USAGE ON SCHEMA reverse_etl TO regress_alice, regress_bob;
SET ROLE regress_alice;
SELECT count(*) AS models_seen FROM reverse_etl.models;
SELECT reverse_etl.create_model(name => 'alice customers', query => 'SELECT 1 AS id', primary_key => 'id');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- The documented way in (carol gets it through her membership in alice).
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO regress_alice, regress_bob;

-- 2. alice creates a table, a model, a destination with secrets and a mapping.
SET ROLE regress_alice;
SHOW search_path;
CREATE TABLE regress_alice.customers (id int PRIMARY KEY, email text, note text);
INSERT INTO regress_alice.customers VALUES (1, 'a@example.com', 'vip'), (2, 'b@example.com', NULL);
-- Unqualified "customers": the model keeps the search_path it was written with.
SELECT reverse_etl.create_model(name => 'alice customers',
    query => 'SELECT id, email, current_user AS run_as FROM customers ORDER BY id',
    primary_key => 'id');
SELECT reverse_etl.create_destination(name => 'alice webhook', type => 'webhook',
    settings => '{"url": "https://hooks.example.com/alice", "bearer_token": "tok-alice-s3cr3t",
                  "headers": {"X-Api-Key": "hdr-alice-s3cr3t"}, "signing_secret": "sig-alice-s3cr3t"}');
SELECT reverse_etl.create_mapping(model => 'alice customers', destination => 'alice webhook',
    action => 'send', fields => '{"email": "email"}', name => 'alice mapping');
-- The owner is the creating role; secrets are masked, header names are not.
SELECT name, owner FROM reverse_etl.models;
SELECT name, settings, owner FROM reverse_etl.destinations;
SELECT name, model, destination, owner FROM reverse_etl.mappings;
SELECT * FROM reverse_etl.preview_model('alice customers');
RESET ROLE;

-- 3. Planning as the caller: a model over a table alice cannot read fails.
SET ROLE regress_alice;
SELECT reverse_etl.create_model(name => 'alice users', query => 'SELECT id, email FROM public.users',
    primary_key => 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.preview_query('SELECT id FROM public.users');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- Column privileges count too: id and email only.
GRANT SELECT (id, email) ON public.users TO regress_alice;
SET ROLE regress_alice;
SELECT reverse_etl.create_model(name => 'alice users', query => 'SELECT id, mrr FROM public.users',
    primary_key => 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(name => 'alice users', query => 'SELECT id, email FROM public.users ORDER BY id',
    primary_key => 'id');
RESET ROLE;

-- 4. bob sees none of alice's objects, and they do not exist for him.
SET ROLE regress_bob;
SELECT count(*) AS models_seen FROM reverse_etl.models;
SELECT count(*) AS destinations_seen FROM reverse_etl.destinations;
SELECT count(*) AS mappings_seen FROM reverse_etl.mappings;
SELECT reverse_etl.alter_model(name => 'alice customers', description => 'mine now');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.drop_model(name => 'alice customers', cascade => true);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.preview_model('alice customers');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.suggest_mappings('alice customers', 'alice webhook', 'send');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination(name => 'alice webhook', settings => '{"url": "https://evil.example.com/"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.enable_destination('alice webhook');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.drop_destination(name => 'alice webhook', cascade => true);
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_mapping(name => 'alice mapping', fields => '{"stolen": "email"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.enable_mapping('alice mapping');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.duplicate_mapping('alice mapping', 'bob copy');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.drop_mapping('alice mapping');
\echo :LAST_ERROR_SQLSTATE
-- A mapping may only join a model and a destination its creator can use.
SELECT reverse_etl.create_model(name => 'bob numbers', query => 'SELECT g AS id FROM generate_series(1, 3) AS g',
    primary_key => 'id');
SELECT reverse_etl.create_destination(name => 'bob webhook', type => 'webhook',
    settings => '{"url": "https://hooks.example.com/bob"}');
SELECT reverse_etl.create_mapping(model => 'alice customers', destination => 'bob webhook',
    action => 'send', fields => '{"email": "email"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping(model => 'bob numbers', destination => 'alice webhook',
    action => 'send', fields => '{"id": "id"}');
\echo :LAST_ERROR_SQLSTATE
-- bob's own data is his to read, not alice's.
SELECT reverse_etl.create_model(name => 'bob steals', query => 'SELECT id, email FROM regress_alice.customers',
    primary_key => 'id');
\echo :LAST_ERROR_SQLSTATE
-- Names are unique per object kind across all roles (as table names are in a
-- schema): a name taken by an object bob cannot see is still taken.
SELECT reverse_etl.create_model(name => 'alice customers', query => 'SELECT 1 AS id', primary_key => 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT name, owner FROM reverse_etl.models;
SELECT name, owner FROM reverse_etl.destinations;
RESET ROLE;

-- 5. The catalog is reachable only through the functions, even for the owners
-- of its rows; the views are read-only; sync state is private.
SET ROLE regress_alice;
SELECT name, settings FROM reverse_etl.destination_catalog;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO reverse_etl.model_catalog (name, query, primary_key, columns, search_path, owner)
VALUES ('forged', 'SELECT 1 AS id', 'id', '[]', 'public', 'regress_bob');
\echo :LAST_ERROR_SQLSTATE
UPDATE reverse_etl.model_catalog SET owner = 'regress_bob';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM reverse_etl.mapping_catalog;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE reverse_etl.destination_catalog;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO reverse_etl.destination_type_catalog VALUES ('forged', '{}');
\echo :LAST_ERROR_SQLSTATE
UPDATE reverse_etl.models SET query = 'SELECT 2 AS id' WHERE name = 'alice customers';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM reverse_etl.destinations;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- A mapping's checkpoint: its model's owner may read it (the diff runs as that
-- role), nobody but the catalog owner may change it, other roles see nothing.
SELECT format('SELECT count(*) FROM reverse_etl_state.checkpoint_%s', mapping_id) AS read_checkpoint,
       format('DELETE FROM reverse_etl_state.checkpoint_%s', mapping_id) AS write_checkpoint
  FROM reverse_etl.mapping_catalog WHERE name = 'alice mapping' \gset
SET ROLE regress_alice;
:read_checkpoint;
-- (SQLSTATE only: the messages name the table, whose name has the mapping's id)
\set VERBOSITY sqlstate
:write_checkpoint;
RESET ROLE;
SET ROLE regress_bob;
:read_checkpoint;
\set VERBOSITY default
RESET ROLE;
-- The function that hands the checkpoint write the destination's ids: no
-- other role may call it, and outside that write it knows of no id.
SET ROLE regress_alice;
SELECT reverse_etl_state.answered_object_id('(0,1)');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT reverse_etl_state.answered_object_id('(0,1)') IS NULL AS no_id_outside_the_write;

-- 6. A role sees nothing of other roles' rows through the views, even with a
-- cheap function in WHERE that the planner might run before the visibility test.
SET ROLE regress_bob;
CREATE FUNCTION pg_temp.regress_peek(text) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS $$ BEGIN RAISE NOTICE 'peek: %', $1; RETURN true; END $$;
SELECT name FROM reverse_etl.models WHERE pg_temp.regress_peek(name || ': ' || query);
SELECT name FROM reverse_etl.mappings WHERE pg_temp.regress_peek(name || ': ' || fields::text);
RESET ROLE;

-- 7. carol, a member of alice, sees and manages alice's objects; what she
-- creates is hers, and alice (not a member of carol) does not see it.
SET ROLE regress_carol;
SELECT name, owner FROM reverse_etl.models ORDER BY name;
SELECT name, owner FROM reverse_etl.destinations;
SELECT name, owner FROM reverse_etl.mappings;
SELECT reverse_etl.alter_model(name => 'alice customers', description => 'edited by carol');
SELECT reverse_etl.alter_destination(name => 'alice webhook',
    settings => '{"headers": {"X-Api-Key": "hdr-carol-s3cr3t", "X-Team": "hdr-team-s3cr3t"}}');
SELECT reverse_etl.alter_mapping(name => 'alice mapping', fields => '{"email": "email", "id": "id"}');
SELECT reverse_etl.create_mapping(model => 'alice users', destination => 'alice webhook',
    action => 'send', fields => '{"id": "id"}', name => 'carol mapping');
SELECT reverse_etl.duplicate_mapping('alice mapping', 'carol copy');
-- Editing does not change the owner.
SELECT name, description, owner FROM reverse_etl.models ORDER BY name;
SELECT name, settings, owner FROM reverse_etl.destinations;
SELECT name, fields, owner FROM reverse_etl.mappings ORDER BY name;
RESET ROLE;
SET ROLE regress_alice;
SELECT name, owner FROM reverse_etl.mappings ORDER BY name;
SELECT reverse_etl.drop_mapping('carol copy');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- 8. The superuser sees everything (secrets still masked).
SELECT name, owner FROM reverse_etl.models WHERE owner LIKE 'regress_%' ORDER BY name;
SELECT name, settings, owner FROM reverse_etl.destinations WHERE owner LIKE 'regress_%' ORDER BY name;
SELECT name, model, destination, owner FROM reverse_etl.mappings WHERE owner LIKE 'regress_%' ORDER BY name;

-- 9. Secrets appear in no view, and errors about secret settings do not echo them.
SELECT count(*) AS views_showing_secrets
  FROM (SELECT settings::text AS t FROM reverse_etl.destinations
        UNION ALL SELECT fields::text FROM reverse_etl.mappings) AS v
 WHERE t LIKE '%s3cr3t%';
SELECT reverse_etl.alter_destination(name => 'alice webhook', settings => '{"bearer_token": ["tok-bad-s3cr3t"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination(name => 'alice webhook', settings => '{"headers": {"X-Api-Key": {"v": "hdr-bad-s3cr3t"}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination(name => 'alice webhook', settings => '{"url": "https://user:pw-s3cr3t@hooks.example.com/"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination(name => 'bad segment', type => 'segment',
    settings => '{"write_key": 12345, "endpoint": "https://api.segment.io"}');
\echo :LAST_ERROR_SQLSTATE

-- 10. A model's query runs as its owner with its own search_path, whoever
-- previews it: carol (a member) and the superuser both get alice's view of it,
-- and bob gets nothing.
SET ROLE regress_carol;
SELECT * FROM reverse_etl.preview_model('alice customers');
RESET ROLE;
SET search_path = pg_catalog;
SELECT * FROM reverse_etl.preview_model('alice customers');
RESET search_path;
SET ROLE regress_bob;
SELECT * FROM reverse_etl.preview_model('alice customers');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- Never as the superuser on the owner's behalf: once alice loses SELECT on
-- public.users, her model fails for everyone, the superuser included.
REVOKE SELECT (id, email) ON public.users FROM regress_alice;
SELECT * FROM reverse_etl.preview_model('alice users');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_alice;
SELECT * FROM reverse_etl.preview_model('alice users');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- 11. SET ROLE is no way around any of this. A model cannot switch to the
-- role of whoever previews it ...
SET ROLE regress_alice;
SELECT reverse_etl.create_model(name => 'alice escalates',
    query => $$SELECT 1 AS id, pg_catalog.set_config('role', 'postgres', false) AS r$$, primary_key => 'id');
RESET ROLE;
SELECT * FROM reverse_etl.preview_model('alice escalates');
\echo :LAST_ERROR_SQLSTATE
SELECT current_user = session_user AS back_to_superuser;
-- ... nor leave objects behind in the previewing session (a temporary table
-- would shadow the superuser's own tables): models are read-only, and
-- PostgreSQL forbids it anyway for code run on behalf of a table's owner.
SET ROLE regress_alice;
CREATE FUNCTION regress_alice.plant() RETURNS int LANGUAGE plpgsql AS
$$ BEGIN CREATE TEMP TABLE regress_planted (x int); RETURN 1; END $$;
SELECT reverse_etl.create_model(name => 'alice plants', query => 'SELECT regress_alice.plant() AS id',
    primary_key => 'id');
RESET ROLE;
SELECT * FROM reverse_etl.preview_model('alice plants');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS planted_tables FROM pg_class WHERE relname = 'regress_planted';
-- A role that is not a member cannot become one with SET ROLE, and a superuser
-- session that has switched to bob is treated as bob.
SET SESSION AUTHORIZATION regress_bob;
SET ROLE regress_alice;
\echo :LAST_ERROR_SQLSTATE
SELECT name FROM reverse_etl.models ORDER BY name;
RESET SESSION AUTHORIZATION;

-- Clean up: the objects first (catalog rows are not tracked by DROP OWNED),
-- then everything the roles own or were granted, then the roles.
SELECT name, reverse_etl.drop_model(name, cascade => true)
  FROM reverse_etl.models WHERE owner LIKE 'regress_%' ORDER BY name;
SELECT name, reverse_etl.drop_destination(name)
  FROM reverse_etl.destinations WHERE owner LIKE 'regress_%' ORDER BY name;
SELECT count(*) AS regress_rows_left
  FROM (SELECT owner FROM reverse_etl.model_catalog UNION ALL
        SELECT owner FROM reverse_etl.destination_catalog UNION ALL
        SELECT owner FROM reverse_etl.mapping_catalog) AS o
 WHERE owner::text LIKE 'regress_%';
DROP OWNED BY regress_alice, regress_bob, regress_carol;
DROP ROLE regress_carol, regress_bob, regress_alice;
