-- dbt (SPEC section 11): import_dbt_manifest with the fixture manifests of
-- test/fixtures/dbt/ (a dbt 1.8 project writing schema v12, a dbt 1.6 one
-- writing v10), and notify_dbt_run queueing the runs of the mappings with
-- schedule 'dbt' whose models dbt built. Every error is followed by its
-- SQLSTATE.

-- The fixtures were written by a dbt target whose database is "analytics";
-- here the relations are in this database, so a copy of each names it instead.
\getenv abs_srcdir PG_ABS_SRCDIR
\set v12_file :abs_srcdir '/test/fixtures/dbt/jaffle_shop_v12.json'
\set v10_file :abs_srcdir '/test/fixtures/dbt/legacy_crm_v10.json'
\set v12_text `cat :v12_file`
\set v10_text `cat :v10_file`
CREATE TEMP TABLE dbt_fixture (name text PRIMARY KEY, manifest jsonb NOT NULL);
INSERT INTO dbt_fixture VALUES ('v12 analytics', :'v12_text'), ('v10 analytics', :'v10_text');
INSERT INTO dbt_fixture
SELECT replace(name, ' analytics', ''), replace(manifest::text, 'analytics', current_database())::jsonb
  FROM dbt_fixture;
SELECT name, manifest->'metadata'->>'dbt_schema_version' AS version, manifest->'metadata'->>'dbt_version' AS dbt,
       (SELECT count(*) FROM jsonb_object_keys(manifest->'nodes')) AS nodes
  FROM dbt_fixture ORDER BY name;

-- The relations dbt built.
CREATE SCHEMA jaffle;
CREATE TABLE jaffle.customers (customer_id int PRIMARY KEY, first_name text, last_name text, email text,
                               lifetime_value numeric(10,2));
INSERT INTO jaffle.customers VALUES (1, 'Michael', 'P.', 'michael@example.com', 33.00),
                                    (2, 'Shawn', 'M.', 'shawn@example.com', 23.00);
CREATE TABLE jaffle.orders (order_id int PRIMARY KEY, customer_id int, status text, amount numeric(10,2));
INSERT INTO jaffle.orders VALUES (1, 1, 'completed', 10.00), (2, 2, 'shipped', 23.00), (3, 1, 'placed', 23.00);
CREATE TABLE jaffle.order_items (order_item_id text PRIMARY KEY, order_id int, sku text, quantity int);
CREATE TABLE jaffle.dim_products_v2 (product_id int PRIMARY KEY, name text, price numeric(10,2));
CREATE SCHEMA crm;
CREATE TABLE crm.accounts (account_id int PRIMARY KEY, name text, plan text);
CREATE TABLE crm.contacts (contact_id int PRIMARY KEY, account_id int, email text);
CREATE TABLE crm.deals (deal_id int PRIMARY KEY, account_id int, amount numeric);
CREATE TABLE crm.events (event_id int, occurred_at timestamptz);

-- What is not a manifest, or not one of v10-v12.
SELECT * FROM reverse_etl.import_dbt_manifest('[1, 2]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.import_dbt_manifest('{"nodes": {}}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.import_dbt_manifest(
    jsonb_set((SELECT manifest FROM dbt_fixture WHERE name = 'v12'), '{metadata,dbt_schema_version}',
              '"https://schemas.getdbt.com/dbt/manifest/v9.json"'));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.import_dbt_manifest((SELECT manifest - 'nodes' FROM dbt_fixture WHERE name = 'v12'));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.import_dbt_manifest(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.import_dbt_manifest((SELECT manifest FROM dbt_fixture WHERE name = 'v12'),
                                              source => 'warehouse');
\echo :LAST_ERROR_SQLSTATE
-- A query cannot read another database: the manifest as dbt wrote it for "analytics".
SELECT * FROM reverse_etl.import_dbt_manifest((SELECT manifest FROM dbt_fixture WHERE name = 'v12 analytics'));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS imported_after_errors FROM reverse_etl.models WHERE dbt_unique_id IS NOT NULL;

-- The v12 manifest: four model nodes opt in (meta.reverse_etl.primary_key,
-- a unique test, config.unique_key with meta.reverse_etl.name, a versioned
-- model); the ephemeral one that asked is named in a NOTICE; the view with
-- only a not_null test, the seed, the snapshot and the source are left alone.
SELECT * FROM reverse_etl.import_dbt_manifest((SELECT manifest FROM dbt_fixture WHERE name = 'v12'));
SELECT name, query, primary_key, description, dbt_unique_id, owner = current_user AS mine
  FROM reverse_etl.models WHERE dbt_unique_id IS NOT NULL ORDER BY name;
SELECT jsonb_pretty(columns) FROM reverse_etl.models WHERE name = 'customers';
SELECT * FROM reverse_etl.preview_model('orders') ORDER BY 1;

-- Imported again: nothing changed.
SELECT * FROM reverse_etl.import_dbt_manifest((SELECT manifest FROM dbt_fixture WHERE name = 'v12'));

-- A new description, a column added to a built table, a node gone: updated,
-- updated, missing (and kept, with its mappings' history).
ALTER TABLE jaffle.order_items ADD COLUMN gift_wrap boolean;
SELECT * FROM reverse_etl.import_dbt_manifest((
    SELECT jsonb_set(manifest, '{nodes,model.jaffle_shop.customers,description}', '"Customers, as marketing sees them."')
           #- '{nodes,model.jaffle_shop.orders}'
      FROM dbt_fixture WHERE name = 'v12'));
SELECT name, description, jsonb_array_length(columns) AS columns, dbt_unique_id
  FROM reverse_etl.models WHERE dbt_unique_id IS NOT NULL ORDER BY name;
-- The node back as it was: the kept model is unchanged.
SELECT * FROM reverse_etl.import_dbt_manifest((SELECT manifest FROM dbt_fixture WHERE name = 'v12'));
-- A model named by meta.reverse_etl.name is renamed in place when the name changes.
SELECT * FROM reverse_etl.import_dbt_manifest((
    SELECT jsonb_set(manifest, '{nodes,model.jaffle_shop.dim_products.v2,meta,reverse_etl,name}', '"products"')
      FROM dbt_fixture WHERE name = 'v12'));
SELECT name, dbt_unique_id FROM reverse_etl.models WHERE dbt_unique_id LIKE '%dim_products%';

-- The v10 manifest of another dbt project: its models are created, and the
-- first project's are not reported as missing. All or nothing: a node whose
-- model name is taken by a model written by hand stops the whole import.
SELECT reverse_etl.create_model('contacts', 'SELECT 1 AS contact_id', 'contact_id');
SELECT * FROM reverse_etl.import_dbt_manifest((SELECT manifest FROM dbt_fixture WHERE name = 'v10'));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS legacy_crm_models FROM reverse_etl.models WHERE dbt_unique_id LIKE 'model.legacy_crm.%';
SELECT reverse_etl.drop_model('contacts');
SELECT * FROM reverse_etl.import_dbt_manifest((SELECT manifest FROM dbt_fixture WHERE name = 'v10'));
SELECT name, query, primary_key, description, dbt_unique_id
  FROM reverse_etl.models WHERE dbt_unique_id LIKE 'model.legacy_crm.%' ORDER BY name;
-- Without relation_name, the node's schema and alias name the relation: the same query.
SELECT * FROM reverse_etl.import_dbt_manifest((
    SELECT manifest #- '{nodes,model.legacy_crm.accounts,relation_name}' FROM dbt_fixture WHERE name = 'v10'));

-- A key that is not a column of the relation: the error says where it came from.
SELECT * FROM reverse_etl.import_dbt_manifest((
    SELECT jsonb_set(manifest, '{nodes,model.legacy_crm.deals,config,unique_key}', '["deal_ref"]')
      FROM dbt_fixture WHERE name = 'v10'));
\echo :LAST_ERROR_SQLSTATE

-- Privileges: an import is checked as create_model is, as the caller, and
-- the models belong to the caller.
CREATE ROLE regress_dbt_analyst LOGIN;
GRANT USAGE ON SCHEMA reverse_etl, jaffle TO regress_dbt_analyst;
GRANT EXECUTE ON FUNCTION reverse_etl.create_model(text, text, text, text, text),
                          reverse_etl.import_dbt_manifest(jsonb, text),
                          reverse_etl.notify_dbt_run(text[]) TO regress_dbt_analyst;
CREATE TEMP TABLE dbt_analyst_manifest AS
SELECT jsonb_build_object(
    'metadata', jsonb_build_object('dbt_schema_version', 'https://schemas.getdbt.com/dbt/manifest/v11.json',
                                   'dbt_version', '1.7.19'),
    'nodes', jsonb_build_object('model.analyst_project.customers', jsonb_build_object(
        'unique_id', 'model.analyst_project.customers', 'resource_type', 'model',
        'package_name', 'analyst_project', 'name', 'customers', 'alias', 'customers',
        'database', current_database(), 'schema', 'jaffle',
        'relation_name', format('"%s"."jaffle"."customers"', current_database()),
        'config', jsonb_build_object('materialized', 'table', 'unique_key', 'customer_id'),
        'meta', jsonb_build_object('reverse_etl', jsonb_build_object('name', 'analyst customers')),
        'description', ''))) AS manifest;
GRANT SELECT ON dbt_analyst_manifest, dbt_fixture TO regress_dbt_analyst;
SET ROLE regress_dbt_analyst;
SELECT reverse_etl.create_model('analyst customers', 'SELECT * FROM "jaffle"."customers"', 'customer_id');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.import_dbt_manifest((SELECT manifest FROM dbt_analyst_manifest));
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT SELECT ON jaffle.customers TO regress_dbt_analyst;
SET ROLE regress_dbt_analyst;
SELECT * FROM reverse_etl.import_dbt_manifest((SELECT manifest FROM dbt_analyst_manifest));
SELECT name, owner, dbt_unique_id FROM reverse_etl.models ORDER BY name;
-- Another role's imported models are not the analyst's to update.
SELECT * FROM reverse_etl.import_dbt_manifest((
    SELECT jsonb_set(m.manifest, '{nodes}', jsonb_build_object('model.jaffle_shop.customers',
                     f.manifest->'nodes'->'model.jaffle_shop.customers'))
      FROM dbt_analyst_manifest m, dbt_fixture f WHERE f.name = 'v12'));
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- notify_dbt_run: mappings with schedule 'dbt' have no next run; dbt's hook queues them.
SET client_min_messages = warning;
SELECT reverse_etl.create_destination('dbt hook', 'webhook', jsonb_build_object('url', mock_url('/dbt')),
                                      enabled => true);
SELECT reverse_etl.create_destination('dbt parked hook', 'webhook', jsonb_build_object('url', mock_url('/parked')));
SELECT reverse_etl.create_model('dbt hand', 'SELECT 1 AS id', 'id');
SELECT reverse_etl.create_mapping('customers', 'dbt hook', 'send', '{"id": "customer_id", "email": "email"}',
                                  name => 'dbt customers', schedule => 'dbt', enabled => true);
SELECT reverse_etl.create_mapping('orders', 'dbt hook', 'send', '{"id": "order_id", "amount": "amount"}',
                                  name => 'dbt orders', schedule => ' DBT ', enabled => true);
SELECT reverse_etl.create_mapping('customers', 'dbt hook', 'send', '{"id": "customer_id"}',
                                  name => 'dbt customers disabled', schedule => 'dbt');
SELECT reverse_etl.create_mapping('customers', 'dbt hook', 'send', '{"id": "customer_id"}',
                                  name => 'dbt customers manual', enabled => true);
SELECT reverse_etl.create_mapping('accounts', 'dbt parked hook', 'send', '{"id": "account_id"}',
                                  name => 'dbt accounts parked', schedule => 'dbt', enabled => true);
SELECT reverse_etl.create_mapping('dbt hand', 'dbt hook', 'send', '{"id": "id"}',
                                  name => 'dbt hand written', schedule => 'dbt', enabled => true);
RESET client_min_messages;
SELECT name, model, schedule, enabled, next_run_at FROM reverse_etl.mappings WHERE name LIKE 'dbt %' ORDER BY name;

-- Only mappings the caller may use (as request_sync): the analyst's none.
SET ROLE regress_dbt_analyst;
SELECT reverse_etl.notify_dbt_run() AS queued;
RESET ROLE;

SELECT mock_reset();
-- dbt built customers: its enabled dbt mapping is queued, once.
SELECT reverse_etl.notify_dbt_run(ARRAY['model.jaffle_shop.customers', 'model.jaffle_shop.stg_customers']) AS queued;
SELECT reverse_etl.notify_dbt_run(ARRAY['model.jaffle_shop.customers']) AS queued_again;
-- Every dbt model: orders too (customers has its queued run). Nothing
-- built, unknown nodes, a plain name, NULL elements and odd text queue nothing.
SELECT reverse_etl.notify_dbt_run(NULL) AS queued;
SELECT reverse_etl.notify_dbt_run('{}') AS queued;
SELECT reverse_etl.notify_dbt_run(ARRAY['model.jaffle_shop.nothing', 'customers', NULL, 'a"b\c', '{x,y}']) AS queued;
SELECT mapping, trigger, status FROM reverse_etl.sync_runs WHERE mapping LIKE 'dbt %' ORDER BY mapping;
SELECT mapping, next_run_at FROM reverse_etl.mapping_status WHERE mapping LIKE 'dbt %' ORDER BY mapping;

-- The queued runs go like any other: run_due_syncs starts them here (this
-- instance's launcher watches another database).
CREATE FUNCTION pg_temp.dbt_wait() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..400 LOOP
        PERFORM pg_stat_clear_snapshot();
        IF NOT EXISTS (SELECT 1 FROM reverse_etl.sync_runs r
                        WHERE r.mapping LIKE 'dbt %' AND r.status IN ('queued', 'running')) THEN
            RETURN;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RAISE EXCEPTION 'dbt runs did not finish';
END $$;
SELECT reverse_etl.run_due_syncs() AS started;
SELECT pg_temp.dbt_wait();
SELECT mapping, trigger, status, records_added, records_succeeded FROM reverse_etl.sync_runs
 WHERE mapping LIKE 'dbt %' ORDER BY mapping;
SELECT path, record FROM mock_records() ORDER BY path, record->>'id', record::text;

-- A notification rolled back queues nothing.
BEGIN;
SELECT reverse_etl.notify_dbt_run() AS queued;
ROLLBACK;
SELECT count(*) AS queued_runs FROM reverse_etl.sync_runs WHERE status = 'queued';

-- Clean up.
SET client_min_messages = warning;
SELECT reverse_etl.drop_destination('dbt hook', cascade => true);
SELECT reverse_etl.drop_destination('dbt parked hook', cascade => true);
SELECT name AS dropped FROM (SELECT name, reverse_etl.drop_model(name) FROM reverse_etl.models
                               WHERE dbt_unique_id IS NOT NULL OR name = 'dbt hand') AS d ORDER BY name;
RESET client_min_messages;
SELECT count(*) AS imported_left FROM reverse_etl.models WHERE dbt_unique_id IS NOT NULL;
REVOKE ALL ON SCHEMA reverse_etl, jaffle FROM regress_dbt_analyst;
REVOKE ALL ON FUNCTION reverse_etl.create_model(text, text, text, text, text),
                       reverse_etl.import_dbt_manifest(jsonb, text),
                       reverse_etl.notify_dbt_run(text[]) FROM regress_dbt_analyst;
DROP TABLE dbt_analyst_manifest, dbt_fixture;
DROP SCHEMA jaffle CASCADE;
DROP SCHEMA crm CASCADE;
DROP ROLE regress_dbt_analyst;
