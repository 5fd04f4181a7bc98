-- Internal: the sync engine renders the values it sends with this, one call
-- per record, instead of one pg_catalog.to_json(column)::text per column.
-- COST: rendering a record's values takes about as long as a hundred
-- operators; at the default cost of 1 the planner would take the model's
-- rows for cheap to compute and never plan a first sync's extraction with
-- parallel workers (docs/performance.md).

CREATE FUNCTION reverse_etl_state.render_values(VARIADIC "any")
RETURNS text LANGUAGE c STABLE PARALLEL SAFE COST 100 AS 'MODULE_PATHNAME', 'reverse_etl_render_values';
COMMENT ON FUNCTION reverse_etl_state.render_values("any") IS
'Internal: pg_catalog.to_json(value)::text of each argument, joined by the byte 0x1F (unit separator); a NULL argument gives an empty field. Takes its values as separate arguments, not as a VARIADIC array.';
