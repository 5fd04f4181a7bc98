-- reverse_etl: views over the catalog. Each role sees the objects owned by
-- roles it is a member of (superusers see everything); secrets are masked.
-- The views read the catalog with their owner's rights; CURRENT_USER is still
-- the querying role, which is what the visibility test needs. They are
-- security barriers, so a caller's cheap leaky function in WHERE cannot see
-- rows before the visibility test has removed them.

CREATE FUNCTION reverse_etl._visible(owner regrole) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
    -- An owner role that no longer exists is visible to superusers only.
    SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = owner::oid)
                THEN pg_catalog.pg_has_role(CURRENT_USER, owner::oid, 'USAGE')
                ELSE (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER)
           END
$$;
COMMENT ON FUNCTION reverse_etl._visible(regrole) IS
'Internal: whether the current role may see and manage objects owned by owner.';

CREATE VIEW reverse_etl.models WITH (security_barrier) AS
SELECT m.name, m.source, m.query, m.primary_key, m.columns, m.description,
       m.owner::text AS owner, m.created_at, m.updated_at, m.dbt_unique_id
  FROM reverse_etl.model_catalog m
 WHERE reverse_etl._visible(m.owner);
COMMENT ON VIEW reverse_etl.models IS
'Models you can see: their query, unique identifier column, result columns, and the dbt node a model was imported from (dbt_unique_id).';

CREATE VIEW reverse_etl.sources WITH (security_barrier) AS
SELECT s.name, reverse_etl._mask_conninfo(s.conninfo) AS conninfo, s.settings,
       s.owner::text AS owner, s.created_at, s.updated_at
  FROM reverse_etl.source_catalog s
 WHERE reverse_etl._visible(s.owner);
COMMENT ON VIEW reverse_etl.sources IS
'Remote sources you can see, with the password of each connection string shown as "********".';

CREATE VIEW reverse_etl.destinations WITH (security_barrier) AS
SELECT d.name, d.type, reverse_etl._mask_settings(d.type, d.settings) AS settings,
       d.enabled, d.owner::text AS owner, d.created_at, d.updated_at
  FROM reverse_etl.destination_catalog d
 WHERE reverse_etl._visible(d.owner);
COMMENT ON VIEW reverse_etl.destinations IS
'Destinations you can see, with secret settings shown as "********".';

CREATE VIEW reverse_etl.destination_types AS
SELECT t.type, t.definition->>'name' AS name, t.definition->>'description' AS description,
       (SELECT pg_catalog.jsonb_object_agg(s->>'key', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                   'type', s->'type',
                   'required', COALESCE(s->'required', 'false'),
                   'secret', COALESCE(s->'secret', 'false'),
                   'default', s->'default',
                   'allowed_values', s->'enum',
                   'minimum', s->'minimum',
                   'maximum', s->'maximum',
                   'description', s->'description')))
          FROM pg_catalog.jsonb_array_elements(t.definition->'settings') AS s) AS settings
  FROM reverse_etl.destination_type_catalog t;
COMMENT ON VIEW reverse_etl.destination_types IS
'The destination types this installation supports, with each setting''s type, whether it is required or secret, its default and description.';

CREATE VIEW reverse_etl.destination_actions AS
SELECT t.type, a->>'key' AS action, a->>'name' AS name, a->>'description' AS description,
       ARRAY(SELECT pg_catalog.jsonb_array_elements_text(a->'sync_modes')) AS sync_modes,
       a->>'default_sync_mode' AS default_sync_mode,
       CASE WHEN COALESCE((a->>'free_fields')::boolean, false)
            THEN pg_catalog.jsonb_build_object('*', pg_catalog.jsonb_build_object(
                     'type', 'any', 'required', false,
                     'description', 'Free fields: every key of the mapping''s fields becomes a property of the record''s JSON object.'))
            ELSE (SELECT COALESCE(pg_catalog.jsonb_object_agg(f->>'key', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                             'type', f->'type',
                             'required', COALESCE(f->'required', 'false'),
                             'one_of_required', (SELECT g FROM pg_catalog.jsonb_array_elements(a->'required_one_of') AS g
                                                  WHERE g ? (f->>'key') LIMIT 1),
                             'properties', f->'properties',
                             'description', f->'description'))), '{}')
                    FROM pg_catalog.jsonb_array_elements(a->'fields') AS f)
       END AS fields,
       (a->>'max_batch_records')::int AS max_batch_records,
       (a->>'max_batch_bytes')::int AS max_batch_bytes,
       COALESCE((a->>'nulls_allowed')::boolean, true) AS nulls_allowed,
       (SELECT COALESCE(pg_catalog.jsonb_object_agg(s->>'key', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                   'type', s->'type',
                   'required', COALESCE(s->'required', 'false'),
                   'default', s->'default',
                   'allowed_values', s->'enum',
                   'minimum', s->'minimum',
                   'maximum', s->'maximum',
                   'description', s->'description'))), '{}')
          FROM pg_catalog.jsonb_array_elements(COALESCE(a->'settings', '[]')) AS s) AS settings
  FROM reverse_etl.destination_type_catalog t,
       pg_catalog.jsonb_array_elements(t.definition->'actions') AS a;
COMMENT ON VIEW reverse_etl.destination_actions IS
'What each destination type can do: its actions, their sync modes, fields, batch limits and the settings a mapping gives them (action_settings).';

CREATE VIEW reverse_etl.mappings WITH (security_barrier) AS
SELECT p.name, m.name AS model, d.name AS destination, p.action, p.sync_mode, p.fields,
       p.filter, p.schedule, p.timezone, p.enabled, p.owner::text AS owner,
       p.next_run_at, p.created_at, p.updated_at, p.action_settings, p.retry_failed_records,
       (SELECT l.mode FROM reverse_etl_state.live_mode l WHERE l.mapping_id = p.mapping_id) AS live_mode
  FROM reverse_etl.mapping_catalog p
  JOIN reverse_etl.model_catalog m USING (model_id)
  JOIN reverse_etl.destination_catalog d USING (destination_id)
 WHERE reverse_etl._visible(p.owner);
COMMENT ON VIEW reverse_etl.mappings IS
'Mappings you can see: model -> destination action, field mapping, filter, schedule, next run, action settings, whether runs resend failed records that did not change (retry_failed_records), and how a live mapping''s runs evaluate its model (live_mode: "incremental on" the table column its record ids are keys of, or "full:" and why).';

