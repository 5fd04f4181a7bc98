-- Internal: the change-detection hash of a record's sent values
-- (src/sql_api/record_hash.cpp). In reverse_etl_state rather than reverse_etl
-- because the diff calls it as the model's owner, who is granted USAGE on this
-- schema with the checkpoint (as for render_values). COST: as for
-- render_values, what hashing a record's values takes, in operators.

CREATE FUNCTION reverse_etl_state.record_hash(seed bigint, VARIADIC "any")
RETURNS bigint LANGUAGE c STABLE PARALLEL SAFE COST 20 AS 'MODULE_PATHNAME', 'reverse_etl_record_hash';
COMMENT ON FUNCTION reverse_etl_state.record_hash(bigint, "any") IS
'Internal: a 64-bit hash of the values given, from their stored bytes (their text form for types whose output reads the catalogs), seeded.';
