-- Live syncs (schedule 'live', docs/live-syncs.md): statement-level triggers
-- on every table a live mapping's model reads record that the table changed
-- and, on the table whose key is an incremental mapping's record id, which
-- keys; the launcher turns those rows into pending work per mapping and runs
-- the mapping. These tables are the engine's working state: not dumped (a
-- restored live mapping sets its capture up again at its first run), never
-- written by other roles.

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
