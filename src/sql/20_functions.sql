-- reverse_etl: the SQL API. Every function is implemented in C++ (src/), runs
-- as its caller (SECURITY INVOKER) and does its catalog work as the catalog's
-- owner with search_path pinned to pg_catalog (see src/pg/role_scope.hpp).
-- None is STRICT: a NULL where a value is required is an error naming it.

-- Models ---------------------------------------------------------------------

CREATE FUNCTION reverse_etl.create_model(name text, query text, primary_key text,
                                         source text DEFAULT 'local',
                                         description text DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_create_model';
COMMENT ON FUNCTION reverse_etl.create_model(text, text, text, text, text) IS
'Defines a model: one read-only query and the column that identifies each record. The query is planned as the caller; its columns are recorded.';

CREATE FUNCTION reverse_etl.alter_model(name text, query text DEFAULT NULL,
                                        primary_key text DEFAULT NULL,
                                        description text DEFAULT NULL,
                                        new_name text DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_alter_model';
COMMENT ON FUNCTION reverse_etl.alter_model(text, text, text, text, text) IS
'Changes a model''s query, primary key, description or name (NULL keeps the current value). A new query must keep every column its mappings use; a new primary key resets their checkpoints.';

CREATE FUNCTION reverse_etl.drop_model(name text, "cascade" boolean DEFAULT false)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_drop_model';
COMMENT ON FUNCTION reverse_etl.drop_model(text, boolean) IS
'Drops a model. Fails while mappings use it unless cascade => true, which drops them too.';

CREATE FUNCTION reverse_etl.preview_model(name text, row_limit int DEFAULT 10)
RETURNS SETOF jsonb LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_preview_model';
COMMENT ON FUNCTION reverse_etl.preview_model(text, int) IS
'Returns the first row_limit rows (0-1000, default 10) of a model as jsonb objects, in the query''s order, run as the model''s owner.';

CREATE FUNCTION reverse_etl.preview_query(query text, primary_key text DEFAULT NULL,
                                          row_limit int DEFAULT 10,
                                          source text DEFAULT 'local')
RETURNS SETOF jsonb LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_preview_query';
COMMENT ON FUNCTION reverse_etl.preview_query(text, text, int, text) IS
'Checks a would-be model query as create_model does and returns its first row_limit rows (0-1000, default 10) as jsonb objects.';

CREATE FUNCTION reverse_etl.import_dbt_manifest(manifest jsonb, source text DEFAULT 'local')
RETURNS TABLE(model text, action text)
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_import_dbt_manifest';
COMMENT ON FUNCTION reverse_etl.import_dbt_manifest(jsonb, text) IS
'Creates or updates a model for each model node of a dbt manifest (target/manifest.json, schema v10-v12) that opts in with meta.reverse_etl.primary_key, config.unique_key or a unique test; each reads the node''s relation. Returns each model and what happened: created, updated, unchanged, or missing (imported before, no longer in the manifest; left in place).';

-- Destinations ---------------------------------------------------------------

CREATE FUNCTION reverse_etl.create_destination(name text, type text,
                                               settings jsonb DEFAULT '{}',
                                               enabled boolean DEFAULT false)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_create_destination';
COMMENT ON FUNCTION reverse_etl.create_destination(text, text, jsonb, boolean) IS
'Defines a destination of a type listed in reverse_etl.destination_types; settings are checked key by key against the type. Secret settings are write-only.';

CREATE FUNCTION reverse_etl.alter_destination(name text, settings jsonb DEFAULT NULL,
                                              new_name text DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_alter_destination';
COMMENT ON FUNCTION reverse_etl.alter_destination(text, jsonb, text) IS
'Merges settings into a destination key by key (a key given as JSON null is removed) and/or renames it.';

CREATE FUNCTION reverse_etl.enable_destination(name text)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_enable_destination';
COMMENT ON FUNCTION reverse_etl.enable_destination(text) IS
'Enables a destination: its enabled mappings run on their schedules.';

CREATE FUNCTION reverse_etl.disable_destination(name text)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_disable_destination';
COMMENT ON FUNCTION reverse_etl.disable_destination(text) IS
'Disables a destination: none of its mappings syncs until it is enabled again.';

CREATE FUNCTION reverse_etl.drop_destination(name text, "cascade" boolean DEFAULT false)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_drop_destination';
COMMENT ON FUNCTION reverse_etl.drop_destination(text, boolean) IS
'Drops a destination. Fails while mappings use it unless cascade => true, which drops them too.';

-- Mappings -------------------------------------------------------------------

CREATE FUNCTION reverse_etl.create_mapping(model text, destination text, action text,
                                           fields jsonb,
                                           sync_mode text DEFAULT NULL,
                                           schedule text DEFAULT 'manual',
                                           name text DEFAULT NULL,
                                           filter text DEFAULT NULL,
                                           timezone text DEFAULT 'UTC',
                                           enabled boolean DEFAULT false,
                                           action_settings jsonb DEFAULT '{}',
                                           retry_failed_records boolean DEFAULT true)
RETURNS text LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_create_mapping';
COMMENT ON FUNCTION reverse_etl.create_mapping(text, text, text, jsonb, text, text, text, text, text, boolean, jsonb, boolean) IS
'Maps a model to a destination action: which records go (sync_mode), how columns become fields, which rows (filter) and when (schedule, in timezone); action_settings are the settings the action declares (such as the object it writes to); retry_failed_records => false leaves failed and rejected records alone until they change. Returns the mapping''s name, by default the action''s display name.';

CREATE FUNCTION reverse_etl.alter_mapping(name text, fields jsonb DEFAULT NULL,
                                          sync_mode text DEFAULT NULL,
                                          schedule text DEFAULT NULL,
                                          filter text DEFAULT NULL,
                                          timezone text DEFAULT NULL,
                                          new_name text DEFAULT NULL,
                                          action_settings jsonb DEFAULT NULL,
                                          retry_failed_records boolean DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_alter_mapping';
COMMENT ON FUNCTION reverse_etl.alter_mapping(text, jsonb, text, text, text, text, text, jsonb, boolean) IS
'Changes a mapping (NULL keeps the current value; filter => '''' removes the filter; action_settings are merged key by key, a key given as null is removed; retry_failed_records => false: later runs resend failed and rejected records only when they change). The checkpoint is kept.';

CREATE FUNCTION reverse_etl.enable_mapping(name text)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_enable_mapping';
COMMENT ON FUNCTION reverse_etl.enable_mapping(text) IS
'Enables a mapping: it runs on its schedule while its destination is enabled.';

CREATE FUNCTION reverse_etl.disable_mapping(name text)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_disable_mapping';
COMMENT ON FUNCTION reverse_etl.disable_mapping(text) IS
'Disables a mapping: it no longer runs on its schedule.';

CREATE FUNCTION reverse_etl.duplicate_mapping(name text, new_name text DEFAULT NULL)
RETURNS text LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_duplicate_mapping';
COMMENT ON FUNCTION reverse_etl.duplicate_mapping(text, text) IS
'Copies a mapping without its checkpoint; the copy is disabled and named "<name> (copy)" unless new_name is given. Returns the copy''s name.';

CREATE FUNCTION reverse_etl.drop_mapping(name text)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_drop_mapping';
COMMENT ON FUNCTION reverse_etl.drop_mapping(text) IS
'Drops a mapping and its sync state.';

CREATE FUNCTION reverse_etl.suggest_mappings(model text, destination text, action text)
RETURNS TABLE(field text, column_name text, score real)
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_suggest_mappings';
COMMENT ON FUNCTION reverse_etl.suggest_mappings(text, text, text) IS
'Proposes, for each field of the action, the model column whose name matches it best (score in (0,1], at least 0.5; each column at most once).';

CREATE FUNCTION reverse_etl.next_run_times(schedule text, timezone text DEFAULT 'UTC',
                                           after timestamptz DEFAULT pg_catalog.now(),
                                           count int DEFAULT 5)
RETURNS SETOF timestamptz LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'reverse_etl_next_run_times';
COMMENT ON FUNCTION reverse_etl.next_run_times(text, text, timestamptz, int) IS
'The next count (1-1000) times a schedule would fire after a given time, in a time zone: a way to check a schedule before using it.';

-- Internal: masks secret settings for the views; granted to PUBLIC below
-- because a view's functions are executed with the querying role's rights.
CREATE FUNCTION reverse_etl.create_source(name text, conninfo text, settings jsonb DEFAULT '{}')
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_create_source';
COMMENT ON FUNCTION reverse_etl.create_source(text, text, jsonb) IS
'Adds a remote warehouse that speaks the PostgreSQL protocol (libpq connection string); models with source => name run their query there.';

CREATE FUNCTION reverse_etl.alter_source(name text, conninfo text DEFAULT NULL, settings jsonb DEFAULT NULL,
                                         new_name text DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_alter_source';
COMMENT ON FUNCTION reverse_etl.alter_source(text, text, jsonb, text) IS
'Replaces a source''s connection string, merges its settings key by key (JSON null removes a key) and/or renames it.';

CREATE FUNCTION reverse_etl.drop_source(name text, "cascade" boolean DEFAULT false)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_drop_source';
COMMENT ON FUNCTION reverse_etl.drop_source(text, boolean) IS
'Drops a source. Fails while models use it unless cascade => true, which drops them (and their mappings) too.';

CREATE FUNCTION reverse_etl.test_source(name text)
RETURNS jsonb LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_test_source';
COMMENT ON FUNCTION reverse_etl.test_source(text) IS
'Connects to a source: its server version and how long connecting and a round trip took.';

CREATE FUNCTION reverse_etl.reassign_owner(from_role text, to_role text)
RETURNS bigint LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_reassign_owner';
COMMENT ON FUNCTION reverse_etl.reassign_owner(text, text) IS
'Gives every source, model, destination, mapping and alert rule of role from_role to role to_role, and returns how many moved. Run it before REASSIGN OWNED and DROP ROLE, which do not see these objects.';

CREATE FUNCTION reverse_etl.reassign_owner(from_role oid, to_role text)
RETURNS bigint LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_reassign_owner_oid';
COMMENT ON FUNCTION reverse_etl.reassign_owner(oid, text) IS
'Gives every source, model, destination, mapping and alert rule of the role with OID from_role, which may be gone (the OID its objects show as owner), to role to_role, and returns how many moved. Only superusers may reassign a dropped role''s objects.';

CREATE FUNCTION reverse_etl._mask_conninfo(conninfo text)
RETURNS text LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'reverse_etl_mask_conninfo';
COMMENT ON FUNCTION reverse_etl._mask_conninfo(text) IS
'Internal: the connection string with its password shown as "********".';

CREATE FUNCTION reverse_etl._mask_settings(type text, settings jsonb)
RETURNS jsonb LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'reverse_etl_mask_settings';
COMMENT ON FUNCTION reverse_etl._mask_settings(text, jsonb) IS
'Internal: the settings with every secret value replaced by "********".';
