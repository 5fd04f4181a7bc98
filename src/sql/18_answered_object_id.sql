-- Internal: the destination's id of a delivered record, by its outbox row,
-- for the checkpoint write (src/sql_api/answered_object_id.cpp). Only the
-- extension's own statements call it: no other role may.

CREATE FUNCTION reverse_etl_state.answered_object_id(outbox_row tid)
RETURNS text LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'reverse_etl_answered_object_id';
COMMENT ON FUNCTION reverse_etl_state.answered_object_id(tid) IS
'Internal: the id the destination answered for the record in this outbox row, while the sync worker writes its checkpoint; NULL anywhere else.';
REVOKE EXECUTE ON FUNCTION reverse_etl_state.answered_object_id(tid) FROM PUBLIC;
