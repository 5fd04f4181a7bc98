-- reverse_etl: who may call what. The functions are for the extension's owner
-- until granted (README, "Letting other roles in"); the views only show each
-- role its own objects, so reading them is harmless once the schema is usable.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reverse_etl._mask_settings(text, jsonb) TO PUBLIC;
GRANT EXECUTE ON FUNCTION reverse_etl._visible(regrole) TO PUBLIC;
GRANT EXECUTE ON FUNCTION reverse_etl._mask_conninfo(text) TO PUBLIC;
GRANT SELECT ON reverse_etl.models, reverse_etl.destinations, reverse_etl.destination_types,
                reverse_etl.sync_runs, reverse_etl.record_errors, reverse_etl.mapping_status,
                reverse_etl.sync_progress,
                reverse_etl.destination_actions, reverse_etl.mappings, reverse_etl.sources,
                reverse_etl.alerts, reverse_etl.alert_events TO PUBLIC;
