-- reverse_etl 0.1.0 -> 0.2.0
--
-- The library refuses to run syncs while the installed extension's version is
-- not its own, and this script is what moves that version. The build appends
-- the refresh of the built-in destination types (scripts/build_install_sql.sh).
--
-- What it changes must leave the catalog as a fresh install of 0.2.0 makes it
-- (test/t/017_extension_update.pl compares the two): columns are added last,
-- as src/sql/10_catalog.sql declares them, and view columns are appended, so
-- CREATE OR REPLACE VIEW can keep the views.

\echo Use "ALTER EXTENSION reverse_etl UPDATE" to load this file. \quit

-- Mapping action settings: values for the settings an action declares (the
-- object a many-object action writes to). Added without a default, then
-- filled: ADD COLUMN ... DEFAULT would keep the default as the rows' "missing
-- value" (pg_attribute.attmissingval), which a fresh install does not have
-- and pg_upgrade's dump would carry.
ALTER TABLE reverse_etl.mapping_catalog ADD COLUMN action_settings jsonb;
UPDATE reverse_etl.mapping_catalog SET action_settings = '{}';
ALTER TABLE reverse_etl.mapping_catalog ALTER COLUMN action_settings SET DEFAULT '{}',
                                        ALTER COLUMN action_settings SET NOT NULL;

-- Retry policy: whether runs resend failed records that did not change, and
-- what a record error needs to tell (the hash of the values that failed,
-- since when runs leave the record alone). Errors of 0.1.0 have no hash:
-- they are retried, as they were.
ALTER TABLE reverse_etl.mapping_catalog ADD COLUMN retry_failed_records boolean;
UPDATE reverse_etl.mapping_catalog SET retry_failed_records = true;
ALTER TABLE reverse_etl.mapping_catalog ALTER COLUMN retry_failed_records SET DEFAULT true,
                                        ALTER COLUMN retry_failed_records SET NOT NULL;
ALTER TABLE reverse_etl.record_error_catalog ADD COLUMN sent_hash bigint,
                                             ADD COLUMN given_up_at timestamptz;

-- create_mapping and alter_mapping take them as a last parameter: new
-- signatures, so new functions replace the old ones, which are renamed first
-- to carry their grants over (below) and then dropped.
ALTER FUNCTION reverse_etl.create_mapping(text, text, text, jsonb, text, text, text, text, text, boolean)
    RENAME TO _create_mapping_0_1_0;
ALTER FUNCTION reverse_etl.alter_mapping(text, jsonb, text, text, text, text, text)
    RENAME TO _alter_mapping_0_1_0;

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
REVOKE EXECUTE ON FUNCTION reverse_etl.create_mapping(text, text, text, jsonb, text, text, text, text, text, boolean, jsonb, boolean) FROM PUBLIC;

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
REVOKE EXECUTE ON FUNCTION reverse_etl.alter_mapping(text, jsonb, text, text, text, text, text, jsonb, boolean) FROM PUBLIC;

CREATE FUNCTION reverse_etl.retry_records(mapping text, record_ids text[] DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_retry_records';
COMMENT ON FUNCTION reverse_etl.retry_records(text, text[]) IS
'Makes the next run of the mapping send its failed and rejected records again (those of record_ids; NULL: all), even those it had given up on or that have not changed, and restarts their reverse_etl.give_up_after clock. Returns how many records it marked.';
REVOKE EXECUTE ON FUNCTION reverse_etl.retry_records(text, text[]) FROM PUBLIC;

-- dbt (import_dbt_manifest, notify_dbt_run): a model keeps the unique_id of
-- the dbt node it was imported from. No default, so no missing value either.
ALTER TABLE reverse_etl.model_catalog ADD COLUMN dbt_unique_id text UNIQUE;

CREATE FUNCTION reverse_etl.import_dbt_manifest(manifest jsonb, source text DEFAULT 'local')
RETURNS TABLE(model text, action text)
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_import_dbt_manifest';
COMMENT ON FUNCTION reverse_etl.import_dbt_manifest(jsonb, text) IS
'Creates or updates a model for each model node of a dbt manifest (target/manifest.json, schema v10-v12) that opts in with meta.reverse_etl.primary_key, config.unique_key or a unique test; each reads the node''s relation. Returns each model and what happened: created, updated, unchanged, or missing (imported before, no longer in the manifest; left in place).';
REVOKE EXECUTE ON FUNCTION reverse_etl.import_dbt_manifest(jsonb, text) FROM PUBLIC;

CREATE FUNCTION reverse_etl.notify_dbt_run(models text[] DEFAULT NULL)
RETURNS integer LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_notify_dbt_run';
COMMENT ON FUNCTION reverse_etl.notify_dbt_run(text[]) IS
'For dbt''s on-run-end hook: queues a run (trigger dbt) of every enabled mapping with schedule dbt, of an enabled destination, whose model was imported from one of the dbt nodes named in models (unique_ids; NULL: every imported model), among the mappings you can use. Returns how many runs it queued.';
REVOKE EXECUTE ON FUNCTION reverse_etl.notify_dbt_run(text[]) FROM PUBLIC;

-- Remote sources (SPEC section 10): their catalog and functions (the view below).
CREATE TABLE reverse_etl.source_catalog (
    source_id  bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (pg_catalog.length(name) BETWEEN 1 AND 128 AND name <> 'local'),
    conninfo   text NOT NULL,
    settings   jsonb NOT NULL DEFAULT '{}',
    owner      regrole NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
SELECT pg_catalog.pg_extension_config_dump('reverse_etl.source_catalog', '');
SELECT pg_catalog.pg_extension_config_dump('reverse_etl.source_catalog_source_id_seq', '');
REVOKE ALL ON reverse_etl.source_catalog FROM PUBLIC;


CREATE FUNCTION reverse_etl.create_source(name text, conninfo text, settings jsonb DEFAULT '{}')
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_create_source';
COMMENT ON FUNCTION reverse_etl.create_source(text, text, jsonb) IS
'Adds a remote warehouse that speaks the PostgreSQL protocol (libpq connection string); models with source => name run their query there.';
REVOKE EXECUTE ON FUNCTION reverse_etl.create_source(text, text, jsonb) FROM PUBLIC;

CREATE FUNCTION reverse_etl.alter_source(name text, conninfo text DEFAULT NULL, settings jsonb DEFAULT NULL,
                                         new_name text DEFAULT NULL)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_alter_source';
COMMENT ON FUNCTION reverse_etl.alter_source(text, text, jsonb, text) IS
'Replaces a source''s connection string, merges its settings key by key (JSON null removes a key) and/or renames it.';
REVOKE EXECUTE ON FUNCTION reverse_etl.alter_source(text, text, jsonb, text) FROM PUBLIC;

CREATE FUNCTION reverse_etl.drop_source(name text, "cascade" boolean DEFAULT false)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_drop_source';
COMMENT ON FUNCTION reverse_etl.drop_source(text, boolean) IS
'Drops a source. Fails while models use it unless cascade => true, which drops them (and their mappings) too.';
REVOKE EXECUTE ON FUNCTION reverse_etl.drop_source(text, boolean) FROM PUBLIC;

CREATE FUNCTION reverse_etl.test_source(name text)
RETURNS jsonb LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_test_source';
COMMENT ON FUNCTION reverse_etl.test_source(text) IS
'Connects to a source: its server version and how long connecting and a round trip took.';
REVOKE EXECUTE ON FUNCTION reverse_etl.test_source(text) FROM PUBLIC;

-- Alerts: NOTIFY reverse_etl_alerts when a run ends failed or
-- partially_succeeded, and at the first success after such runs, so that
-- LISTEN in any client hears of failing syncs without polling. Sent when the
-- run's end commits. Every status change goes through here (the worker's
-- finish, the launcher failing a run it cannot start, a restart failing the
-- runs it interrupted). Any role connected to the database may LISTEN:
-- mapping names, counts and errors go in the payload only with
-- reverse_etl.alert_details = on. "Previous" is by the time runs ended: a
-- run queued earlier may end after one sync() started later.
CREATE FUNCTION reverse_etl._notify_run_end() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $notify$
DECLARE
    previous text;
    payload json;
BEGIN
    IF NEW.status = 'succeeded' THEN
        SELECT r.status INTO previous
          FROM reverse_etl.run_catalog r
         WHERE r.mapping_id = NEW.mapping_id AND r.run_id <> NEW.run_id
           AND r.status IN ('succeeded', 'partially_succeeded', 'failed')
         ORDER BY r.finished_at DESC NULLS LAST, r.run_id DESC LIMIT 1;
        IF previous IS NULL OR previous = 'succeeded' THEN
            RETURN NULL;
        END IF;
    END IF;
    IF pg_catalog.current_setting('reverse_etl.alert_details', true) IS DISTINCT FROM 'on' THEN
        payload := pg_catalog.json_build_object('run_id', NEW.run_id, 'status', NEW.status,
                                                'recovered', NEW.status = 'succeeded');
    ELSE
        payload := pg_catalog.json_build_object(
            'mapping', (SELECT p.name FROM reverse_etl.mapping_catalog p WHERE p.mapping_id = NEW.mapping_id),
            'run_id', NEW.run_id, 'status', NEW.status, 'recovered', NEW.status = 'succeeded',
            'trigger', NEW.trigger, 'started_at', NEW.started_at, 'finished_at', NEW.finished_at,
            'records', pg_catalog.json_build_object(
                'extracted', NEW.records_extracted, 'added', NEW.records_added,
                'updated', NEW.records_updated, 'deleted', NEW.records_deleted,
                'invalid', NEW.records_invalid, 'selected', NEW.records_selected,
                'succeeded', NEW.records_succeeded, 'failed', NEW.records_failed),
            'error', pg_catalog.left(NEW.error, 2000));
        -- A NOTIFY payload holds less than 8000 bytes, and escaping can
        -- make 2000 characters of error many more (a NOTIFY that fails would
        -- fail the run's end): 200 characters fit in any case.
        IF pg_catalog.octet_length(payload::text) >= 8000 THEN
            payload := pg_catalog.json_build_object(
                'mapping', payload->'mapping', 'run_id', NEW.run_id, 'status', NEW.status,
                'recovered', NEW.status = 'succeeded', 'trigger', NEW.trigger,
                'started_at', NEW.started_at, 'finished_at', NEW.finished_at, 'records', payload->'records',
                'error', pg_catalog.left(NEW.error, 200));
        END IF;
    END IF;
    PERFORM pg_catalog.pg_notify('reverse_etl_alerts', payload::text);
    RETURN NULL;
END
$notify$;
COMMENT ON FUNCTION reverse_etl._notify_run_end() IS
'Internal: the trigger that sends NOTIFY reverse_etl_alerts when a run ends failed or partially_succeeded, and at the first success after such runs.';
CREATE TRIGGER notify_run_end AFTER UPDATE OF status ON reverse_etl.run_catalog
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                   AND NEW.status IN ('succeeded', 'partially_succeeded', 'failed'))
EXECUTE FUNCTION reverse_etl._notify_run_end();
REVOKE EXECUTE ON FUNCTION reverse_etl._notify_run_end() FROM PUBLIC;

-- Alert rules (src/sql/45_alerts.sql): their catalog, the trigger that
-- moves them at the end of each run, their functions and views (granted
-- below, with the other views).
CREATE TABLE reverse_etl.alert_catalog (
    alert_id       bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name           text NOT NULL UNIQUE CHECK (pg_catalog.length(name) BETWEEN 1 AND 128),
    -- A mapping's rules go with it.
    mapping_id     bigint NOT NULL REFERENCES reverse_etl.mapping_catalog (mapping_id) ON DELETE CASCADE,
    destination_id bigint NOT NULL REFERENCES reverse_etl.destination_catalog (destination_id),
    -- Fires when this many runs in a row failed (NULL: not watched).
    failures       int CHECK (failures >= 1),
    -- Fires when a run's records_failed / records_selected is above this
    -- (NULL: not watched). Failed runs, and runs that sent nothing, tell
    -- nothing about it.
    rejected_share float8 CHECK (rejected_share >= 0 AND rejected_share < 1),
    -- While firing, at most one reminder this often (NULL: none).
    remind_every   interval CHECK (remind_every > interval '0'),
    owner          regrole NOT NULL,
    -- State: which condition fires now, since when, and when an alert was
    -- last queued for it.
    failures_firing boolean NOT NULL DEFAULT false,
    share_firing    boolean NOT NULL DEFAULT false,
    firing_since    timestamptz,
    last_alert_at   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK (failures IS NOT NULL OR rejected_share IS NOT NULL)
);
CREATE INDEX ON reverse_etl.alert_catalog (mapping_id);
CREATE INDEX ON reverse_etl.alert_catalog (destination_id);
SELECT pg_catalog.pg_extension_config_dump('reverse_etl.alert_catalog', '');
SELECT pg_catalog.pg_extension_config_dump('reverse_etl.alert_catalog_alert_id_seq', '');

-- What each alert sent, or is to send: history, pruned with its run.
CREATE TABLE reverse_etl.alert_event_catalog (
    event_id   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    alert_id   bigint NOT NULL REFERENCES reverse_etl.alert_catalog (alert_id) ON DELETE CASCADE,
    run_id     bigint NOT NULL REFERENCES reverse_etl.run_catalog (run_id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('firing', 'reminder', 'resolved')),
    -- The JSON object posted (a Slack destination gets its "text").
    payload    jsonb NOT NULL,
    status     text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts   int NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- A failed post is tried again 30 s after, then after twice as long
    -- each time (about an hour in all; engine/alert_sender.cpp).
    last_attempt_at timestamptz,
    sent_at    timestamptz,
    error      text
);
CREATE INDEX ON reverse_etl.alert_event_catalog (alert_id);
CREATE INDEX ON reverse_etl.alert_event_catalog (run_id);
CREATE INDEX ON reverse_etl.alert_event_catalog (event_id) WHERE status = 'pending';

REVOKE ALL ON reverse_etl.alert_catalog, reverse_etl.alert_event_catalog FROM PUBLIC;

-- Moves every rule of the run's mapping and queues what changed. Rules are
-- taken FOR UPDATE: two runs of one mapping cannot end at once, but a rule
-- being dropped can.
CREATE FUNCTION reverse_etl._evaluate_alerts() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $alerts$
DECLARE
    rule record;
    mapping_name text;
    failed_in_a_row bigint;
    share float8;
    failures_now boolean;
    share_now boolean;
    kind text;
    reason text;
BEGIN
    -- Most mappings have no rule: spare their run ends the history scan.
    IF NOT EXISTS (SELECT 1 FROM reverse_etl.alert_catalog a WHERE a.mapping_id = NEW.mapping_id) THEN
        RETURN NULL;
    END IF;
    SELECT p.name INTO mapping_name FROM reverse_etl.mapping_catalog p WHERE p.mapping_id = NEW.mapping_id;
    SELECT pg_catalog.count(*) INTO failed_in_a_row
      FROM reverse_etl.run_catalog f
     WHERE f.mapping_id = NEW.mapping_id AND f.status = 'failed'
       AND f.finished_at > COALESCE((SELECT pg_catalog.max(r.finished_at) FROM reverse_etl.run_catalog r
                                      WHERE r.mapping_id = NEW.mapping_id
                                        AND r.status IN ('succeeded', 'partially_succeeded')),
                                    '-infinity');
    IF NEW.status <> 'failed' AND NEW.records_selected > 0 THEN
        share := NEW.records_failed::float8 / NEW.records_selected;
    END IF;
    FOR rule IN SELECT * FROM reverse_etl.alert_catalog a WHERE a.mapping_id = NEW.mapping_id
                 ORDER BY a.alert_id FOR UPDATE
    LOOP
        failures_now := rule.failures IS NOT NULL AND failed_in_a_row >= rule.failures;
        share_now := CASE WHEN share IS NULL THEN rule.share_firing
                          ELSE rule.rejected_share IS NOT NULL AND share > rule.rejected_share END;
        kind := NULL;
        IF (failures_now OR share_now) AND NOT (rule.failures_firing OR rule.share_firing) THEN
            kind := 'firing';
        ELSIF (failures_now OR share_now) AND rule.remind_every IS NOT NULL
              AND rule.last_alert_at <= pg_catalog.now() - rule.remind_every THEN
            kind := 'reminder';
        ELSIF NOT (failures_now OR share_now) AND (rule.failures_firing OR rule.share_firing) THEN
            kind := 'resolved';
        END IF;
        IF kind = 'resolved' THEN
            reason := pg_catalog.format('run %s %s', NEW.run_id, NEW.status);
        ELSIF failures_now THEN
            reason := pg_catalog.format('%s run(s) in a row failed; the last: %s', failed_in_a_row,
                                        COALESCE(pg_catalog.left(NEW.error, 500), 'no error recorded'));
        ELSIF share IS NOT NULL THEN
            reason := pg_catalog.format('run %s: %s of %s records rejected or failed (%s%%, above %s%%)',
                                        NEW.run_id, NEW.records_failed, NEW.records_selected,
                                        pg_catalog.round((share * 100)::numeric, 1),
                                        pg_catalog.round((rule.rejected_share * 100)::numeric, 1));
        ELSE
            -- A reminder at a run that tells nothing of the share.
            reason := pg_catalog.format('run %s %s; the last run that sent records had more than %s%% rejected or failed',
                                        NEW.run_id, NEW.status,
                                        pg_catalog.round((rule.rejected_share * 100)::numeric, 1));
        END IF;
        UPDATE reverse_etl.alert_catalog a
           SET failures_firing = failures_now, share_firing = share_now,
               firing_since = CASE WHEN failures_now OR share_now THEN COALESCE(a.firing_since, pg_catalog.now()) END,
               last_alert_at = CASE WHEN kind IS NOT NULL THEN pg_catalog.now() ELSE a.last_alert_at END
         WHERE a.alert_id = rule.alert_id;
        IF kind IS NOT NULL THEN
            INSERT INTO reverse_etl.alert_event_catalog (alert_id, run_id, kind, payload)
            VALUES (rule.alert_id, NEW.run_id, kind, pg_catalog.jsonb_build_object(
                'text', pg_catalog.format('[reverse_etl] %s: mapping "%s" (alert "%s"): %s',
                                          CASE kind WHEN 'firing' THEN 'FAILING' WHEN 'reminder' THEN 'STILL FAILING'
                                                    ELSE 'RESOLVED' END,
                                          mapping_name, rule.name, reason),
                'alert', rule.name, 'kind', kind, 'mapping', mapping_name, 'reason', reason,
                'run_id', NEW.run_id, 'status', NEW.status,
                'consecutive_failures', failed_in_a_row,
                'records', pg_catalog.jsonb_build_object(
                    'selected', NEW.records_selected, 'succeeded', NEW.records_succeeded,
                    'failed', NEW.records_failed, 'invalid', NEW.records_invalid),
                'error', pg_catalog.left(NEW.error, 2000),
                'finished_at', NEW.finished_at));
        END IF;
    END LOOP;
    RETURN NULL;
END
$alerts$;
COMMENT ON FUNCTION reverse_etl._evaluate_alerts() IS
'Internal: the trigger that moves the alert rules of a run''s mapping when the run ends, and queues the alerts to post.';
CREATE TRIGGER evaluate_alerts AFTER UPDATE OF status ON reverse_etl.run_catalog
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                   AND NEW.status IN ('succeeded', 'partially_succeeded', 'failed'))
EXECUTE FUNCTION reverse_etl._evaluate_alerts();

CREATE FUNCTION reverse_etl.create_alert(name text, mapping text, destination text,
                                         failures int DEFAULT 1,
                                         rejected_share float8 DEFAULT NULL,
                                         remind_every interval DEFAULT '1 day')
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_create_alert';
COMMENT ON FUNCTION reverse_etl.create_alert(text, text, text, int, float8, interval) IS
'Watches a mapping and posts to a webhook or slack destination when failures runs in a row failed (NULL: not watched) or a run''s share of rejected and failed records is above rejected_share (0 to 1; NULL: not watched): once when it starts, at most every remind_every while it lasts (NULL: no reminders), and once when it is over.';

CREATE FUNCTION reverse_etl.drop_alert(name text)
RETURNS void LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_drop_alert';
COMMENT ON FUNCTION reverse_etl.drop_alert(text) IS
'Drops an alert rule and its history.';

CREATE VIEW reverse_etl.alerts WITH (security_barrier) AS
SELECT a.name, p.name AS mapping, d.name AS destination, a.failures, a.rejected_share, a.remind_every,
       a.failures_firing OR a.share_firing AS firing, a.firing_since, a.last_alert_at,
       a.owner::text AS owner, a.created_at
  FROM reverse_etl.alert_catalog a
  JOIN reverse_etl.mapping_catalog p USING (mapping_id)
  JOIN reverse_etl.destination_catalog d ON d.destination_id = a.destination_id
 WHERE reverse_etl._visible(a.owner);
COMMENT ON VIEW reverse_etl.alerts IS
'Alert rules you can see: the mapping watched, where alerts go, the conditions, and whether the rule fires now (since firing_since; last_alert_at: the last alert it queued).';

CREATE VIEW reverse_etl.alert_events WITH (security_barrier) AS
SELECT e.event_id, a.name AS alert, p.name AS mapping, e.run_id, e.kind, e.payload->>'reason' AS reason,
       e.status, e.attempts, e.created_at, e.last_attempt_at, e.sent_at, e.error, e.payload
  FROM reverse_etl.alert_event_catalog e
  JOIN reverse_etl.alert_catalog a USING (alert_id)
  JOIN reverse_etl.mapping_catalog p USING (mapping_id)
 WHERE reverse_etl._visible(a.owner);
COMMENT ON VIEW reverse_etl.alert_events IS
'Alerts queued by your rules: firing, reminder or resolved, the run that caused it, and whether it was posted (pending, sent, or failed: after 8 attempts over about an hour, or at once when the destination is disabled or cannot take it; error says why).';
REVOKE EXECUTE ON FUNCTION reverse_etl._evaluate_alerts() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION reverse_etl.create_alert(text, text, text, int, float8, interval) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION reverse_etl.drop_alert(text) FROM PUBLIC;
GRANT SELECT ON reverse_etl.alerts, reverse_etl.alert_events TO PUBLIC;

-- Owners that go away: reassign_owner gives a role's objects to another
-- (REASSIGN OWNED does not see them). Not for PUBLIC, as on a fresh install;
-- the grants of create_model carry over to it (below).
CREATE FUNCTION reverse_etl.reassign_owner(from_role text, to_role text)
RETURNS bigint LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_reassign_owner';
COMMENT ON FUNCTION reverse_etl.reassign_owner(text, text) IS
'Gives every source, model, destination, mapping and alert rule of role from_role to role to_role, and returns how many moved. Run it before REASSIGN OWNED and DROP ROLE, which do not see these objects.';

CREATE FUNCTION reverse_etl.reassign_owner(from_role oid, to_role text)
RETURNS bigint LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'reverse_etl_reassign_owner_oid';
COMMENT ON FUNCTION reverse_etl.reassign_owner(oid, text) IS
'Gives every source, model, destination, mapping and alert rule of the role with OID from_role, which may be gone (the OID its objects show as owner), to role to_role, and returns how many moved. Only superusers may reassign a dropped role''s objects.';
REVOKE EXECUTE ON FUNCTION reverse_etl.reassign_owner(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION reverse_etl.reassign_owner(oid, text) FROM PUBLIC;

CREATE FUNCTION reverse_etl._mask_conninfo(conninfo text)
RETURNS text LANGUAGE c IMMUTABLE STRICT AS 'MODULE_PATHNAME', 'reverse_etl_mask_conninfo';
COMMENT ON FUNCTION reverse_etl._mask_conninfo(text) IS
'Internal: the connection string with its password shown as "********".';
GRANT EXECUTE ON FUNCTION reverse_etl._mask_conninfo(text) TO PUBLIC;


-- The EXECUTE grants users gave on the old functions (README, "Letting other
-- roles in") go to the new ones, as user grants: GRANT records shared
-- dependencies on the roles, but run from this script it also records itself
-- among the extension's initial privileges (pg_init_privs), which are put
-- back to what the REVOKE above left, as a fresh install has them. Otherwise
-- pg_dump would count the grants as the extension's own and a role allowed
-- to create mappings before the update would lose that right. The new dbt
-- functions do nothing their callers could not do before: import_dbt_manifest
-- creates and alters models as create_model and alter_model do, and
-- notify_dbt_run queues runs as request_sync does. A role that could create
-- models may import manifests, and one that could request syncs may notify
-- dbt runs, as after GRANT EXECUTE ON ALL FUNCTIONS on a fresh install.
-- Likewise a role that could create models may define the sources they read
-- (a non-superuser's sources are held to password authentication) and
-- reassign objects (reassign_owner asks for the privileges of both roles, with
-- which the caller could recreate the objects as the other role anyway), and
-- the view helper _mask_conninfo carries _mask_settings's grants. A role
-- that could create mappings may create alert rules (a rule needs a mapping
-- and a destination the role may use, as a mapping does), and one that
-- could drop mappings may drop them. A role that could reset a mapping
-- (resend every record) may ask for its failed records to be resent
-- (retry_records). EXECUTE on the alert trigger's functions means nothing
-- (a trigger fires whoever updates the table); it is carried too, so that
-- an updated database grants what GRANT ... ON ALL FUNCTIONS gives on a
-- fresh install.
DO $carry$
DECLARE
    pair record;
    grant_item record;
    initial aclitem[];
BEGIN
    FOR pair IN
        SELECT old_function, new_function
          FROM (VALUES
                ('reverse_etl._create_mapping_0_1_0(text, text, text, jsonb, text, text, text, text, text, boolean)'::pg_catalog.regprocedure,
                 'reverse_etl.create_mapping(text, text, text, jsonb, text, text, text, text, text, boolean, jsonb, boolean)'::pg_catalog.regprocedure),
                ('reverse_etl._alter_mapping_0_1_0(text, jsonb, text, text, text, text, text)'::pg_catalog.regprocedure,
                 'reverse_etl.alter_mapping(text, jsonb, text, text, text, text, text, jsonb, boolean)'::pg_catalog.regprocedure),
                ('reverse_etl.reset_mapping(text)'::pg_catalog.regprocedure,
                 'reverse_etl.retry_records(text, text[])'::pg_catalog.regprocedure),
                ('reverse_etl.create_model(text, text, text, text, text)'::pg_catalog.regprocedure,
                 'reverse_etl.import_dbt_manifest(jsonb, text)'::pg_catalog.regprocedure),
                ('reverse_etl.request_sync(text)'::pg_catalog.regprocedure,
                 'reverse_etl.notify_dbt_run(text[])'::pg_catalog.regprocedure),
                ('reverse_etl.create_model(text, text, text, text, text)'::pg_catalog.regprocedure,
                 'reverse_etl.create_source(text, text, jsonb)'::pg_catalog.regprocedure),
                ('reverse_etl.create_model(text, text, text, text, text)'::pg_catalog.regprocedure,
                 'reverse_etl.alter_source(text, text, jsonb, text)'::pg_catalog.regprocedure),
                ('reverse_etl.create_model(text, text, text, text, text)'::pg_catalog.regprocedure,
                 'reverse_etl.drop_source(text, boolean)'::pg_catalog.regprocedure),
                ('reverse_etl.create_model(text, text, text, text, text)'::pg_catalog.regprocedure,
                 'reverse_etl.test_source(text)'::pg_catalog.regprocedure),
                ('reverse_etl.create_model(text, text, text, text, text)'::pg_catalog.regprocedure,
                 'reverse_etl.reassign_owner(text, text)'::pg_catalog.regprocedure),
                ('reverse_etl.create_model(text, text, text, text, text)'::pg_catalog.regprocedure,
                 'reverse_etl.reassign_owner(oid, text)'::pg_catalog.regprocedure),
                ('reverse_etl.create_model(text, text, text, text, text)'::pg_catalog.regprocedure,
                 'reverse_etl._notify_run_end()'::pg_catalog.regprocedure),
                ('reverse_etl.create_model(text, text, text, text, text)'::pg_catalog.regprocedure,
                 'reverse_etl._evaluate_alerts()'::pg_catalog.regprocedure),
                ('reverse_etl._create_mapping_0_1_0(text, text, text, jsonb, text, text, text, text, text, boolean)'::pg_catalog.regprocedure,
                 'reverse_etl.create_alert(text, text, text, int, float8, interval)'::pg_catalog.regprocedure),
                ('reverse_etl.drop_mapping(text)'::pg_catalog.regprocedure,
                 'reverse_etl.drop_alert(text)'::pg_catalog.regprocedure),
                ('reverse_etl._mask_settings(text, jsonb)'::pg_catalog.regprocedure,
                 'reverse_etl._mask_conninfo(text)'::pg_catalog.regprocedure))
               AS pairs (old_function, new_function)
    LOOP
        SELECT i.initprivs INTO initial
          FROM pg_catalog.pg_init_privs i
         WHERE i.objoid = pair.new_function AND i.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass
           AND i.objsubid = 0;
        FOR grant_item IN
            SELECT a.grantee, a.is_grantable
              FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) AS a
             WHERE p.oid = pair.old_function AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
        LOOP
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s%s', pair.new_function,
                                      CASE WHEN grant_item.grantee = 0 THEN 'PUBLIC'
                                           ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(grant_item.grantee)) END,
                                      CASE WHEN grant_item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
        UPDATE pg_catalog.pg_init_privs i SET initprivs = initial
         WHERE i.objoid = pair.new_function AND i.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass
           AND i.objsubid = 0;
    END LOOP;
END
$carry$;

DROP FUNCTION reverse_etl._create_mapping_0_1_0(text, text, text, jsonb, text, text, text, text, text, boolean);
DROP FUNCTION reverse_etl._alter_mapping_0_1_0(text, jsonb, text, text, text, text, text);

-- The views gain a last column each; their grants stay.
CREATE OR REPLACE VIEW reverse_etl.destination_actions AS
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

CREATE OR REPLACE VIEW reverse_etl.models WITH (security_barrier) AS
SELECT m.name, m.source, m.query, m.primary_key, m.columns, m.description,
       m.owner::text AS owner, m.created_at, m.updated_at, m.dbt_unique_id
  FROM reverse_etl.model_catalog m
 WHERE reverse_etl._visible(m.owner);
COMMENT ON VIEW reverse_etl.models IS
'Models you can see: their query, unique identifier column, result columns, and the dbt node a model was imported from (dbt_unique_id).';

-- Live syncs (src/sql/19_live_capture.sql).
-- Changes of committed transactions, not yet seen by the launcher. Each
-- writing statement (or transaction, without keys) inserts its own row:
-- writers never wait on each other.
CREATE TABLE reverse_etl_state.live_change_queue (
    relid oid NOT NULL,
    -- The keys (old and new) of the rows a statement changed, as text, in
    -- the column the table's key capture records; NULL when not known
    -- (TRUNCATE, a table without key capture, more rows than
    -- reverse_etl.live_max_backlog): any row may have changed.
    ids   text[]
);
-- Kept out of line uncompressed: compressing a statement's keys (pglz)
-- cost the writer more than the rest of the capture (bench/run.sh --live).
ALTER TABLE reverse_etl_state.live_change_queue ALTER COLUMN ids SET STORAGE EXTERNAL;

-- The tables each live mapping's capture covers (set up by its runs).
CREATE TABLE reverse_etl_state.live_capture (
    mapping_id bigint NOT NULL REFERENCES reverse_etl.mapping_catalog (mapping_id) ON DELETE CASCADE,
    relid      oid NOT NULL,
    PRIMARY KEY (mapping_id, relid)
);
CREATE INDEX live_capture_relid ON reverse_etl_state.live_capture (relid);

-- How each live mapping's runs evaluate its model (mappings.live_mode):
-- for the changed keys of one table (key_relid, key_column), or the whole
-- model (key_relid NULL). Set when the mapping becomes live and at each run.
CREATE TABLE reverse_etl_state.live_mode (
    mapping_id bigint PRIMARY KEY REFERENCES reverse_etl.mapping_catalog (mapping_id) ON DELETE CASCADE,
    key_relid  oid,
    key_column name,
    key_type   oid,
    mode       text NOT NULL
);

-- Live mappings with changes not yet delivered. `changes` grows with every
-- batch of changes seen; a run clears the row only if it has not grown since
-- the run started, so a change that lands during a run gets a run of its own.
-- since: when the oldest change not delivered was seen; since_next: when the
-- first change after the running run's start was (the oldest left when that
-- run delivers what it read). full_batch: the latest batch whose changes
-- only a full diff finds (another table changed, a TRUNCATE, the backlog
-- passed reverse_etl.live_max_backlog, the mapping or its model changed),
-- and why (full_reason): a full diff that took it on clears it; backlog: the
-- changed records waiting in live_pending_ids; dropping: past the cap,
-- changed records are not kept until a full diff starts.
CREATE TABLE reverse_etl_state.live_pending (
    mapping_id  bigint PRIMARY KEY REFERENCES reverse_etl.mapping_catalog (mapping_id) ON DELETE CASCADE,
    changes     bigint NOT NULL DEFAULT 1,
    since       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    since_next  timestamptz,
    full_batch  bigint,
    full_reason text,
    backlog     bigint NOT NULL DEFAULT 0,
    dropping    boolean NOT NULL DEFAULT false
);

-- The changed records of incremental live mappings, not yet delivered:
-- each with the batch (live_pending.changes) that last changed it.
CREATE TABLE reverse_etl_state.live_pending_ids (
    mapping_id bigint NOT NULL REFERENCES reverse_etl.mapping_catalog (mapping_id) ON DELETE CASCADE,
    record_id  text COLLATE "C" NOT NULL,
    batch      bigint NOT NULL,
    PRIMARY KEY (mapping_id, record_id)
);

REVOKE ALL ON reverse_etl_state.live_change_queue, reverse_etl_state.live_capture,
              reverse_etl_state.live_mode, reverse_etl_state.live_pending,
              reverse_etl_state.live_pending_ids FROM PUBLIC;

-- The capture trigger's function. Executable by every role, as a trigger
-- function must be for whoever creates the trigger; it does nothing but as a
-- trigger, and then only records the table's oid.
CREATE FUNCTION reverse_etl_state.capture_change()
RETURNS trigger LANGUAGE c AS 'MODULE_PATHNAME', 'reverse_etl_capture_change';
COMMENT ON FUNCTION reverse_etl_state.capture_change() IS
'Internal: the live-sync capture trigger (AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE, FOR EACH STATEMENT): records that the table changed.';

-- The key capture trigger's function, on the table whose key is an
-- incremental live mapping's record id: AFTER INSERT, UPDATE or DELETE, FOR
-- EACH STATEMENT, with transition tables; its argument names the column.
CREATE FUNCTION reverse_etl_state.capture_keys()
RETURNS trigger LANGUAGE c AS 'MODULE_PATHNAME', 'reverse_etl_capture_keys';
COMMENT ON FUNCTION reverse_etl_state.capture_keys() IS
'Internal: the live-sync key capture trigger (AFTER INSERT, UPDATE or DELETE, FOR EACH STATEMENT, REFERENCING its rows): records the keys of the rows the statement changed.';
-- Runs a live mapping's changes start.
ALTER TABLE reverse_etl.run_catalog DROP CONSTRAINT run_catalog_trigger_check,
    ADD CONSTRAINT run_catalog_trigger_check CHECK (trigger IN ('schedule', 'manual', 'dbt', 'pg_cron', 'live'));

CREATE OR REPLACE VIEW reverse_etl.mappings WITH (security_barrier) AS
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

CREATE OR REPLACE VIEW reverse_etl.mapping_status WITH (security_barrier) AS
SELECT p.name AS mapping, m.name AS model, d.name AS destination, p.action, p.enabled,
       d.enabled AS destination_enabled, p.schedule, p.next_run_at,
       last.run_id AS last_run_id, last.status AS last_status,
       COALESCE(last.started_at, last.queued_at) AS last_run_at,
       (SELECT pg_catalog.count(*) FROM reverse_etl.record_error_catalog e
         WHERE e.mapping_id = p.mapping_id) AS failing_records,
       p.schedule_error,
       NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.oid = p.owner::oid)
       OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.oid = m.owner::oid)
       OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.oid = d.owner::oid)
       OR EXISTS (SELECT 1 FROM reverse_etl.source_catalog s
                   WHERE s.name = m.source
                     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.oid = s.owner::oid))
         AS owner_missing,
       (SELECT pg_catalog.count(*) FROM reverse_etl.run_catalog f
         WHERE f.mapping_id = p.mapping_id AND f.status = 'failed'
           AND (ok.finished_at IS NULL OR f.finished_at > ok.finished_at)) AS consecutive_failures,
       ok.finished_at AS last_success_at,
       (SELECT pg_catalog.count(*) FROM reverse_etl.record_error_catalog e
         WHERE e.mapping_id = p.mapping_id AND e.given_up_at IS NOT NULL) AS given_up_records,
       live.since AS live_changes_since,
       CASE WHEN pg_catalog.lower(pg_catalog.btrim(p.schedule)) = 'live' THEN COALESCE(live.backlog, 0) END AS live_backlog,
       pg_catalog.now() - live.since AS live_lag,
       CASE WHEN live.full_batch IS NOT NULL THEN 'full: ' || live.full_reason
            WHEN live.mapping_id IS NOT NULL THEN
                 COALESCE((SELECT CASE WHEN l.key_relid IS NULL THEN l.mode ELSE 'incremental' END
                             FROM reverse_etl_state.live_mode l WHERE l.mapping_id = p.mapping_id), 'full')
       END AS live_next_run
  FROM reverse_etl.mapping_catalog p
  JOIN reverse_etl.model_catalog m USING (model_id)
  JOIN reverse_etl.destination_catalog d USING (destination_id)
  LEFT JOIN reverse_etl_state.live_pending live ON live.mapping_id = p.mapping_id
  LEFT JOIN LATERAL (SELECT r.run_id, r.status, r.started_at, r.queued_at
                       FROM reverse_etl.run_catalog r
                      WHERE r.mapping_id = p.mapping_id
                      ORDER BY r.run_id DESC LIMIT 1) AS last ON true
  LEFT JOIN LATERAL (SELECT r.finished_at
                       FROM reverse_etl.run_catalog r
                      WHERE r.mapping_id = p.mapping_id AND r.status IN ('succeeded', 'partially_succeeded')
                      ORDER BY r.finished_at DESC NULLS LAST LIMIT 1) AS ok ON true
 WHERE reverse_etl._visible(p.owner);
COMMENT ON VIEW reverse_etl.mapping_status IS
'One row per mapping you can see: enabled state, schedule, the last run, how many records are failing, why the scheduler could not plan its next run (schedule_error; NULL when it can), whether a role that owns the mapping, its model, its destination or the model''s source no longer exists (owner_missing: its runs fail until reassign_owner gives them to a role), how many runs failed since the last one that did its work (consecutive_failures), when that one ended (last_success_at: succeeded or partially_succeeded), how many of the failing records runs no longer resend (given_up_records), and, for a live mapping: how many changed records wait for its next run (live_backlog), since when changes wait (live_changes_since) and so its lag (live_lag: the age of the oldest change not delivered), and how that run will evaluate the model (live_next_run: incremental, or full and why).';

CREATE OR REPLACE VIEW reverse_etl.sync_progress WITH (security_barrier) AS
SELECT r.run_id, p.name AS mapping, r.pid, r.phase, r.records_extracted, r.records_selected,
       r.records_sent, r.records_succeeded, r.records_failed, r.started_at,
       CASE WHEN pg_catalog.lower(pg_catalog.btrim(p.schedule)) = 'live' THEN COALESCE(live.backlog, 0) END AS live_backlog,
       pg_catalog.now() - live.since AS live_lag
  FROM reverse_etl.run_catalog r
  JOIN reverse_etl.mapping_catalog p USING (mapping_id)
  LEFT JOIN reverse_etl_state.live_pending live ON live.mapping_id = p.mapping_id
 WHERE r.status = 'running' AND reverse_etl._visible(p.owner);
COMMENT ON VIEW reverse_etl.sync_progress IS
'Live counters of running syncs (committed as the run goes), like pg_stat_progress_*; for a live mapping, the changed records waiting for its next run (live_backlog) and the age of its oldest change not delivered (live_lag).';

CREATE OR REPLACE VIEW reverse_etl.record_errors WITH (security_barrier) AS
SELECT p.name AS mapping, e.record_id, e.run_id, e.change, e.kind, e.error, e.http_status,
       e.payload, e.attempts, e.first_failed_at, e.last_failed_at, e.given_up_at
  FROM reverse_etl.record_error_catalog e
  JOIN reverse_etl.mapping_catalog p USING (mapping_id)
 WHERE reverse_etl._visible(p.owner);
COMMENT ON VIEW reverse_etl.record_errors IS
'Records not delivered yet: invalid (not sendable), rejected (4xx) or failed (retries exhausted). A row disappears when its record is delivered or no longer needs delivery. given_up_at: since when runs no longer resend the record (retry_failed_records off, or failing longer than reverse_etl.give_up_after) until it changes or retry_records asks for it.';

-- Each mapping's checkpoint keeps the destination key each record was last
-- sent with (a deletion finds the record at the destination by it) and the
-- destination's id of the record, and its log of a run's selection the key
-- each record goes out with.
DO $upgrade$
DECLARE
    state_table record;
BEGIN
    FOR state_table IN
        SELECT c.oid::regclass AS name, c.relname OPERATOR(pg_catalog.~) '^checkpoint_' AS is_checkpoint
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = 'reverse_etl_state'::regnamespace AND c.relkind = 'r'
           AND c.relname OPERATOR(pg_catalog.~) '^(checkpoint|sending)_[0-9]+$'
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN dest_key text', state_table.name);
        IF state_table.is_checkpoint THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN object_id text', state_table.name);
        END IF;
    END LOOP;
END
$upgrade$;

CREATE VIEW reverse_etl.sources WITH (security_barrier) AS
SELECT s.name, reverse_etl._mask_conninfo(s.conninfo) AS conninfo, s.settings,
       s.owner::text AS owner, s.created_at, s.updated_at
  FROM reverse_etl.source_catalog s
 WHERE reverse_etl._visible(s.owner);
COMMENT ON VIEW reverse_etl.sources IS
'Remote sources you can see, with the password of each connection string shown as "********".';
GRANT SELECT ON reverse_etl.sources TO PUBLIC;

-- What rendering and hashing a record cost, for the planner: a first sync's
-- extraction can then be planned with parallel workers (src/sql/16_render_values.sql).
ALTER FUNCTION reverse_etl_state.render_values("any") COST 100;
ALTER FUNCTION reverse_etl_state.record_hash(bigint, "any") COST 20;

-- The destination's ids of delivered records, handed to the checkpoint write
-- (src/sql/18_answered_object_id.sql).
CREATE FUNCTION reverse_etl_state.answered_object_id(outbox_row tid)
RETURNS text LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'reverse_etl_answered_object_id';
COMMENT ON FUNCTION reverse_etl_state.answered_object_id(tid) IS
'Internal: the id the destination answered for the record in this outbox row, while the sync worker writes its checkpoint; NULL anywhere else.';
REVOKE EXECUTE ON FUNCTION reverse_etl_state.answered_object_id(tid) FROM PUBLIC;

