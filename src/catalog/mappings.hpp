// Mappings: model -> destination action, with field mapping, filter and schedule.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog_store.hpp"
#include "catalog/name_matching.hpp"

namespace reverse_etl::catalog {

struct MappingDefinition {
    std::string model;
    std::string destination;
    std::string action;
    std::string fields_json;
    std::optional<std::string> sync_mode;  // nullopt: the action's default
    std::string schedule;
    std::optional<std::string> name;       // nullopt: the action's display name
    std::optional<std::string> filter;
    std::string timezone;
    bool enabled = false;
    std::string action_settings_json = "{}";   // the action's settings (catalog/action_settings.hpp)
    bool retry_failed_records = true;
};

struct MappingChanges {
    std::optional<std::string> fields_json;
    std::optional<std::string> sync_mode;
    std::optional<std::string> schedule;
    std::optional<std::string> filter;     // "" removes the filter
    std::optional<std::string> timezone;
    std::optional<std::string> new_name;
    std::optional<std::string> action_settings_json;   // merged into the current ones key by key
    std::optional<bool> retry_failed_records;
};

std::string create_mapping(const MappingDefinition &definition);  // returns the name
void alter_mapping(const std::string &name, const MappingChanges &changes);
void set_mapping_enabled(const std::string &name, bool enabled);
std::string duplicate_mapping(const std::string &name, const std::optional<std::string> &new_name);
void drop_mapping(const std::string &name);
std::vector<ColumnSuggestion> suggest_mappings(const std::string &model, const std::string &destination,
                                               const std::string &action);

// Takes the mapping's run lock for the rest of the transaction: no run is
// going (else 55006, "mapping ... is running") and none starts before it
// commits. For changes a run must not see halfway: its checkpoint dropped
// or reset, or its model's key changed.
void lock_out_runs(const MappingRow &mapping);

// Drops `mappings` (which use the model or destination `name`) when cascading,
// else fails with 2BP01 naming them.
void drop_dependent_mappings(const std::string &kind, const std::string &name,
                             const std::vector<MappingRow> &mappings, bool cascade);

// Recomputes next_run_at of every mapping of a destination (after enable/disable).
void refresh_next_runs_of_destination(int64_t destination_id);

// When a scheduled mapping runs next, given that a run of it starts at
// `started_at`: one interval later, or the schedule's next fire time after it.
// nullopt for manual and dbt.
std::optional<int64_t> next_scheduled_run(const std::string &schedule, const std::string &timezone,
                                          int64_t started_at);

// The next `count` fire times of a schedule after `after` (TimestampTz values).
std::vector<int64_t> next_run_times(const std::string &schedule, const std::string &timezone, int64_t after,
                                    int count);

}  // namespace reverse_etl::catalog
