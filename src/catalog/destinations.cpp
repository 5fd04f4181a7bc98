#include "catalog/destinations.hpp"

#include "catalog/alerts.hpp"
#include "catalog/catalog_store.hpp"
#include "catalog/mappings.hpp"
#include "catalog/settings.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "pg/launcher_signal.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"
#include "pg/time_support.hpp"

namespace reverse_etl::catalog {

namespace {

void validate(const DestinationType &type, const json_t *settings) {
    validate_settings(type, settings, pg::parse_interval_length);
}

}  // namespace

void create_destination(const std::string &name, const std::string &type_name, const std::string &settings_json,
                        bool enabled) {
    check_object_name("destination", name);
    const DestinationType type = load_destination_type(type_name);
    const JsonPtr settings = parse_json(settings_json, "settings");
    validate(type, settings.get());
    check_name_free("destination", "destination_catalog", name);
    pg::execute_catalog(
        "INSERT INTO reverse_etl.destination_catalog (name, type, settings, enabled, owner) "
        "VALUES ($1, $2, $3::jsonb, $4::boolean, $5::oid::regrole)",
        {name, type.type, dump_json(settings.get()), enabled ? "true" : "false",
         std::to_string(pg::current_role_oid())});
}

void alter_destination(const std::string &name, const std::optional<std::string> &settings_patch_json,
                       const std::optional<std::string> &new_name) {
    const DestinationRow destination = find_destination(name);
    std::string settings_json = destination.settings_json;
    if (settings_patch_json) {
        const DestinationType type = load_destination_type(destination.type);
        const JsonPtr current = parse_json(destination.settings_json, "settings");
        const JsonPtr patch = parse_json(*settings_patch_json, "settings");
        const JsonPtr merged = merge_settings(current.get(), patch.get());
        validate(type, merged.get());
        settings_json = dump_json(merged.get());
    }
    if (new_name && *new_name != name) {
        check_object_name("destination", *new_name);
        check_name_free("destination", "destination_catalog", *new_name);
    }
    pg::execute_catalog(
        "UPDATE reverse_etl.destination_catalog SET name = $2, settings = $3::jsonb, updated_at = pg_catalog.now() "
        "WHERE destination_id = $1::bigint",
        {std::to_string(destination.id), new_name.value_or(name), settings_json});
}

void set_destination_enabled(const std::string &name, bool enabled) {
    const DestinationRow destination = find_destination(name);
    pg::execute_catalog(
        "UPDATE reverse_etl.destination_catalog SET enabled = $2::boolean, updated_at = pg_catalog.now() "
        "WHERE destination_id = $1::bigint",
        {std::to_string(destination.id), enabled ? "true" : "false"});
    refresh_next_runs_of_destination(destination.id);
    if (enabled)
        pg::wake_launcher_at_commit();
}

void drop_destination(const std::string &name, bool cascade) {
    const DestinationRow destination = find_destination(name);
    drop_dependent_mappings("destination", name, mappings_of_destination(destination.id), cascade);
    drop_alerts_to_destination(destination, cascade);
    pg::execute_catalog("DELETE FROM reverse_etl.destination_catalog WHERE destination_id = $1::bigint",
                        {std::to_string(destination.id)});
}

// Once per row of the destinations view: the type comes from the backend's
// cache, not parsed (nor copied) again.
std::string masked_settings(const std::string &type_name, const std::string &settings_json) {
    const std::shared_ptr<const DestinationType> type = cached_destination_type(type_name);
    const JsonPtr settings = parse_json(settings_json, "settings");
    const JsonPtr masked = mask_settings(*type, settings.get());
    return dump_json(masked.get());
}

}  // namespace reverse_etl::catalog
