-- Internal: the sync engine renders the values it sends with this, one call
-- per record, instead of one pg_catalog.to_json(column)::text per column.

CREATE FUNCTION reverse_etl_state.render_values(VARIADIC "any")
RETURNS text LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'reverse_etl_render_values';
COMMENT ON FUNCTION reverse_etl_state.render_values("any") IS
'Internal: pg_catalog.to_json(value)::text of each argument, joined by the byte 0x1F (unit separator); a NULL argument gives an empty field. Takes its values as separate arguments, not as a VARIADIC array.';
