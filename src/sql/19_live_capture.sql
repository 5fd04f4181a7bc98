-- Live syncs (schedule 'live', docs/live-syncs.md): a statement-level trigger
-- on every table a live mapping's model reads records, once per transaction
-- and table, that the table changed; the launcher turns those rows into a
-- pending flag per mapping and runs the mapping. All three tables are the
-- engine's working state: not dumped (a restored live mapping sets its
-- capture up again at its first run), never written by other roles.

-- Tables changed by committed transactions, not yet seen by the launcher. Each
-- writing transaction inserts its own row: writers never wait on each other.
CREATE TABLE reverse_etl_state.live_change_queue (
    relid oid NOT NULL
);

-- The tables each live mapping's capture covers (set up by its runs).
CREATE TABLE reverse_etl_state.live_capture (
    mapping_id bigint NOT NULL REFERENCES reverse_etl.mapping_catalog (mapping_id) ON DELETE CASCADE,
    relid      oid NOT NULL,
    PRIMARY KEY (mapping_id, relid)
);
CREATE INDEX live_capture_relid ON reverse_etl_state.live_capture (relid);

-- Live mappings with changes not yet delivered. `changes` grows with every
-- batch of changes seen; a run clears the row only if it has not grown since
-- the run started, so a change that lands during a run gets a run of its own.
CREATE TABLE reverse_etl_state.live_pending (
    mapping_id bigint PRIMARY KEY REFERENCES reverse_etl.mapping_catalog (mapping_id) ON DELETE CASCADE,
    changes    bigint NOT NULL DEFAULT 1,
    since      timestamptz NOT NULL DEFAULT pg_catalog.now()
);

REVOKE ALL ON reverse_etl_state.live_change_queue, reverse_etl_state.live_capture,
              reverse_etl_state.live_pending FROM PUBLIC;

-- The capture trigger's function. Executable by every role, as a trigger
-- function must be for whoever creates the trigger; it does nothing but as a
-- trigger, and then only records the table's oid.
CREATE FUNCTION reverse_etl_state.capture_change()
RETURNS trigger LANGUAGE c AS 'MODULE_PATHNAME', 'reverse_etl_capture_change';
COMMENT ON FUNCTION reverse_etl_state.capture_change() IS
'Internal: the live-sync capture trigger (AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE, FOR EACH STATEMENT): records that the table changed.';
