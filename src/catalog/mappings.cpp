#include "catalog/mappings.hpp"

#include <algorithm>

#include "catalog/action_settings.hpp"
#include "catalog/field_mapping.hpp"
#include "catalog/live_capture.hpp"
#include "catalog/mapping_state.hpp"
#include "catalog/run_lock.hpp"
#include "catalog/schedule.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/json_text.hpp"
#include "common/parse_number.hpp"
#include "pg/filter_check.hpp"
#include "pg/launcher_signal.hpp"
#include "pg/messages.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"
#include "pg/time_support.hpp"

namespace reverse_etl::catalog {

namespace {

std::string joined(const std::vector<std::string> &items) {
    std::string list;
    for (const std::string &item : items)
        list += (list.empty() ? "" : ", ") + item;
    return list;
}

const ActionDef &find_action(const DestinationType &type, const std::string &action) {
    if (const ActionDef *found = type.find_action(action))
        return *found;
    std::vector<std::string> keys;
    for (const ActionDef &candidate : type.actions)
        keys.push_back(candidate.key);
    const auto nearest = closest_name(action, keys);
    throw Error(sqlstate::kInvalidParameterValue,
                "destination type " + quoted(type.type) + " has no action " + quoted(action), "",
                nearest ? "Did you mean " + quoted(*nearest) + "?" : "Available actions: " + joined(keys) + ".");
}

std::string resolve_sync_mode(const ActionDef &action, const std::string &type,
                              const std::optional<std::string> &requested) {
    if (!requested)
        return action.default_sync_mode;
    const auto &modes = action.sync_modes;
    if (std::find(modes.begin(), modes.end(), *requested) != modes.end())
        return *requested;
    throw Error(sqlstate::kInvalidParameterValue,
                "action " + quoted(action.key) + " of destination type " + quoted(type) +
                    " does not offer sync mode " + quoted(*requested),
                "", "Valid sync modes: " + joined(modes) + ".");
}

void validate_fields(const std::string &fields_json, const ActionDef &action, const ModelColumns &columns) {
    const JsonPtr fields = parse_json_shape(fields_json, "fields");
    const JsonValue written = parse_json_text(fields_json);   // static values, digit for digit
    validate_field_mapping(fields.get(), action, columns, &written);
}

// The action as this mapping sends it (catalog/action_settings.hpp), after
// checking the settings: key_field may be named by one of them.
ActionDef validated_action(const DestinationType &type, const ActionDef &action, const json_t *action_settings) {
    validate_action_settings(type, action, action_settings);
    return bind_action_settings(action, action_settings);
}

bool is_blank(const std::optional<std::string> &text) {
    return !text || std::all_of(text->begin(), text->end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

std::optional<std::string> validated_filter(const std::optional<std::string> &filter, const ModelRow &model) {
    if (is_blank(filter))
        return std::nullopt;
    pg::validate_filter(*filter, model.columns, model.search_path);
    return filter;
}

Schedule parse(const std::string &schedule) { return parse_schedule(schedule, pg::parse_interval_length); }

void check_timezone(const std::string &timezone) {
    if (!pg::is_known_time_zone(timezone))
        throw Error(sqlstate::kInvalidParameterValue, "time zone " + quoted(timezone) + " not recognized", "",
                    "Use a name from pg_timezone_names, such as \"Europe/Paris\" or \"UTC\".");
}

// NULL while the mapping or its destination is disabled and for manual and dbt
// schedules. An interval mapping is due at once: its first run starts as soon
// as it can (later runs are planned from each run's start by the scheduler).
std::optional<int64_t> compute_next_run_at(const std::string &schedule_text, const std::string &timezone,
                                           bool runnable) {
    if (!runnable)
        return std::nullopt;
    const Schedule schedule = parse(schedule_text);
    const int64_t now = pg::transaction_timestamp();
    if (schedule.kind == Schedule::Kind::Interval)
        return now;
    const auto calendar = pg::make_calendar(timezone);
    return next_run_after(schedule, now, *calendar);
}

pg::Value timestamp_param(const std::optional<int64_t> &timestamp) {
    if (!timestamp)
        return std::nullopt;
    return pg::timestamptz_text(*timestamp);
}

// A next run computed from the mapping's schedule and time zone also tells
// that they can be evaluated: an error the scheduler recorded is gone.
void store_next_run_at(int64_t mapping_id, const std::optional<int64_t> &next_run_at) {
    pg::execute_catalog(
        "UPDATE reverse_etl.mapping_catalog SET next_run_at = $2::timestamptz, schedule_error = NULL "
        "WHERE mapping_id = $1::bigint",
        {std::to_string(mapping_id), timestamp_param(next_run_at)});
}

void refresh_next_run_at(const MappingRow &mapping) {
    const DestinationRow destination = destination_by_id(mapping.destination_id);
    store_next_run_at(mapping.id, compute_next_run_at(mapping.schedule, mapping.timezone,
                                                      mapping.enabled && destination.enabled));
}

// "Identify User", then "Identify User (2)", "(3)"... until one is free.
std::string first_free_name(const std::string &base) {
    if (!name_taken("mapping_catalog", base))
        return base;
    for (int suffix = 2;; suffix++) {
        const std::string candidate = base + " (" + std::to_string(suffix) + ")";
        if (!name_taken("mapping_catalog", candidate))
            return candidate;
    }
}

// A mapping's filter and fields run as its model's owner and its data goes to
// its destination: whoever creates, copies or alters one must be able to use
// both (42704 "does not exist" when not, as create_mapping says, so names of
// objects the caller cannot see do not leak).
void require_usable_ends(const ModelRow &model, const DestinationRow &destination) {
    find_model(model.name);
    find_destination(destination.name);
}

int64_t insert_mapping(const std::string &name, const ModelRow &model, const DestinationRow &destination,
                       const std::string &action, const std::string &sync_mode, const std::string &fields_json,
                       const std::optional<std::string> &filter, const std::string &schedule,
                       const std::string &timezone, bool enabled, const std::string &action_settings_json,
                       bool retry_failed_records) {
    const pg::Result result = pg::execute_catalog(
        "INSERT INTO reverse_etl.mapping_catalog (name, model_id, destination_id, action, sync_mode, fields, "
        "filter, schedule, timezone, enabled, owner, action_settings, retry_failed_records) "
        "VALUES ($1, $2::bigint, $3::bigint, $4, $5, $6::jsonb, $7, $8, $9, $10::boolean, $11::oid::regrole, "
        "$12::jsonb, $13::boolean) RETURNING mapping_id::text",
        {name, std::to_string(model.id), std::to_string(destination.id), action, sync_mode, fields_json, filter,
         schedule, timezone, enabled ? "true" : "false", std::to_string(pg::current_role_oid()),
         action_settings_json, retry_failed_records ? "true" : "false"});
    const int64_t mapping_id = number_from_sql<int64_t>(result.scalar());
    create_checkpoint(mapping_id, model.owner);
    store_next_run_at(mapping_id, compute_next_run_at(schedule, timezone, enabled && destination.enabled));
    // Its first run sets its capture up and sends what the model holds.
    if (is_live_schedule(schedule))
        request_live_run(mapping_id, "the mapping became live");
    return mapping_id;
}

}  // namespace

std::string create_mapping(const MappingDefinition &definition) {
    const ModelRow model = find_model(definition.model);
    const DestinationRow destination = find_destination(definition.destination);
    const DestinationType type = load_destination_type(destination.type);
    const JsonPtr action_settings = parse_json(definition.action_settings_json, "action_settings");
    const ActionDef action = validated_action(type, find_action(type, definition.action), action_settings.get());
    const std::string sync_mode = resolve_sync_mode(action, type.type, definition.sync_mode);
    validate_fields(definition.fields_json, action, model.columns);
    check_delete_key(action, sync_mode, parse_json_shape(definition.fields_json, "fields").get());
    const auto filter = validated_filter(definition.filter, model);
    parse(definition.schedule);
    std::optional<LiveCapture> live;
    if (is_live_schedule(definition.schedule))
        live = check_live_model(model, filter);
    check_timezone(definition.timezone);
    std::string name;
    if (definition.name) {
        check_object_name("mapping", *definition.name);
        check_name_free("mapping", "mapping_catalog", *definition.name);
        name = *definition.name;
    } else {
        name = first_free_name(action.name);
    }
    const int64_t mapping_id =
        insert_mapping(name, model, destination, action.key, sync_mode, definition.fields_json, filter,
                       definition.schedule, definition.timezone, definition.enabled, dump_json(action_settings.get()),
                       definition.retry_failed_records);
    if (live)
        store_live_mode(mapping_id, live->key);
    return name;
}

void alter_mapping(const std::string &name, const MappingChanges &changes) {
    const MappingRow mapping = find_mapping(name);
    const ModelRow model = model_by_id(mapping.model_id);
    const DestinationRow destination = destination_by_id(mapping.destination_id);
    // Checked again at every change: access to either may have been lost
    // (REVOKE, membership) since the mapping was created.
    require_usable_ends(model, destination);
    const DestinationType type = load_destination_type(destination.type);
    // Checked only when changed, as fields are: the stored ones were valid.
    std::string action_settings_json = mapping.action_settings_json;
    JsonPtr action_settings = parse_json(action_settings_json, "action_settings");
    if (changes.action_settings_json) {
        const JsonPtr patch = parse_json(*changes.action_settings_json, "action_settings");
        action_settings = merge_action_settings(action_settings.get(), patch.get());
        validate_action_settings(type, find_action(type, mapping.action), action_settings.get());
        action_settings_json = dump_json(action_settings.get());
    }
    const ActionDef action = bind_action_settings(find_action(type, mapping.action), action_settings.get());

    const std::string sync_mode = changes.sync_mode ? resolve_sync_mode(action, type.type, changes.sync_mode)
                                                    : mapping.sync_mode;
    const std::string fields_json = changes.fields_json.value_or(mapping.fields_json);
    if (changes.fields_json)
        validate_fields(fields_json, action, model.columns);
    check_delete_key(action, sync_mode, parse_json_shape(fields_json, "fields").get());
    const auto filter = changes.filter ? validated_filter(changes.filter, model) : mapping.filter;
    const std::string schedule = changes.schedule.value_or(mapping.schedule);
    parse(schedule);
    const bool was_live = is_live_schedule(mapping.schedule);
    const bool is_live = is_live_schedule(schedule);
    // A live mapping whose filter, fields or sync mode change: records the
    // change touches that did not change themselves are found by a full
    // diff only, and its mode follows its new filter.
    const bool changes_what_is_sent =
        changes.filter || changes.fields_json || changes.sync_mode || changes.action_settings_json;
    std::optional<LiveCapture> live;
    if (is_live && (!was_live || changes_what_is_sent))
        live = check_live_model(model, filter);
    const std::string timezone = changes.timezone.value_or(mapping.timezone);
    check_timezone(timezone);
    const std::string new_name = changes.new_name.value_or(name);
    if (new_name != name) {
        check_object_name("mapping", new_name);
        check_name_free("mapping", "mapping_catalog", new_name);
    }
    pg::execute_catalog(
        "UPDATE reverse_etl.mapping_catalog SET name = $2, sync_mode = $3, fields = $4::jsonb, filter = $5, "
        "schedule = $6, timezone = $7, action_settings = $8::jsonb, retry_failed_records = $9::boolean, "
        "updated_at = pg_catalog.now() WHERE mapping_id = $1::bigint",
        {std::to_string(mapping.id), new_name, sync_mode, fields_json, filter, schedule, timezone,
         action_settings_json,
         changes.retry_failed_records.value_or(mapping.retry_failed_records) ? "true" : "false"});
    if (changes.schedule || changes.timezone)
        store_next_run_at(mapping.id, compute_next_run_at(schedule, timezone, mapping.enabled && destination.enabled));
    if (live) {
        store_live_mode(mapping.id, live->key);
        request_live_run(mapping.id, was_live ? "the mapping changed" : "the mapping became live");
    } else if (was_live && !is_live)
        forget_live_capture(mapping.id);
}

void set_mapping_enabled(const std::string &name, bool enabled) {
    MappingRow mapping = find_mapping(name);
    pg::execute_catalog(
        "UPDATE reverse_etl.mapping_catalog SET enabled = $2::boolean, updated_at = pg_catalog.now() "
        "WHERE mapping_id = $1::bigint",
        {std::to_string(mapping.id), enabled ? "true" : "false"});
    mapping.enabled = enabled;
    refresh_next_run_at(mapping);
    if (enabled)
        pg::wake_launcher_at_commit();
}

std::string duplicate_mapping(const std::string &name, const std::optional<std::string> &new_name) {
    const MappingRow mapping = find_mapping(name);
    const ModelRow model = model_by_id(mapping.model_id);
    const DestinationRow destination = destination_by_id(mapping.destination_id);
    // The copy belongs to the caller, who must be able to use both ends.
    require_usable_ends(model, destination);
    std::string copy_name;
    if (new_name) {
        check_object_name("mapping", *new_name);
        check_name_free("mapping", "mapping_catalog", *new_name);
        copy_name = *new_name;
    } else {
        copy_name = first_free_name(name + " (copy)");
        check_object_name("mapping", copy_name);
    }
    insert_mapping(copy_name, model, destination, mapping.action, mapping.sync_mode, mapping.fields_json,
                   mapping.filter, mapping.schedule, mapping.timezone, false, mapping.action_settings_json,
                   mapping.retry_failed_records);
    return copy_name;
}

void lock_out_runs(const MappingRow &mapping) {
    const pg::Result locked = pg::execute("SELECT pg_catalog.pg_try_advisory_xact_lock(" +
                                          run_lock_args(mapping.id) + ")::text");
    if (locked.scalar() != "true")
        throw Error(sqlstate::kObjectInUse, "mapping " + quoted(mapping.name) + " is running", "",
                    "Wait for it to finish, or stop it with reverse_etl.cancel_sync().");
}

namespace {

// Dropping a checkpoint under a run would fail it halfway.
void remove_mapping(const MappingRow &mapping) {
    lock_out_runs(mapping);
    drop_checkpoint(mapping.id);
    pg::execute_catalog("DELETE FROM reverse_etl.mapping_catalog WHERE mapping_id = $1::bigint",
                        {std::to_string(mapping.id)});
}

}  // namespace

void drop_mapping(const std::string &name) { remove_mapping(find_mapping(name)); }

void drop_dependent_mappings(const std::string &kind, const std::string &name,
                             const std::vector<MappingRow> &mappings, bool cascade) {
    if (mappings.empty())
        return;
    std::string detail;
    for (const MappingRow &mapping : mappings)
        detail += (detail.empty() ? "" : "\n") + std::string("mapping ") + quoted(mapping.name) + " uses " + kind +
                  " " + quoted(name);
    if (!cascade)
        throw Error(sqlstate::kDependentObjectsStillExist,
                    "cannot drop " + kind + " " + quoted(name) + " because other objects depend on it", detail,
                    "Use cascade => true to drop the dependent mappings too.");
    for (const MappingRow &mapping : mappings)
        remove_mapping(mapping);
    pg::notice("drop cascades to " + std::to_string(mappings.size()) + " mapping(s)", detail);
}

void refresh_next_runs_of_destination(int64_t destination_id) {
    for (const MappingRow &mapping : mappings_of_destination(destination_id))
        refresh_next_run_at(mapping);
}

std::vector<ColumnSuggestion> suggest_mappings(const std::string &model_name, const std::string &destination_name,
                                               const std::string &action_key) {
    const ModelRow model = find_model(model_name);
    const DestinationRow destination = find_destination(destination_name);
    const DestinationType type = load_destination_type(destination.type);
    const ActionDef &action = find_action(type, action_key);
    const std::vector<std::string> columns = column_names(model.columns);
    std::vector<std::string> fields;
    for (const FieldSpec &field : action.fields)
        fields.push_back(field.key);
    std::vector<ColumnSuggestion> suggestions = suggest_columns(fields, columns);
    if (!action.free_fields || !action.suggest_other_columns)
        return suggestions;
    // Free fields take any name: the declared ones (Braze's first_name) go to
    // the columns that match them, every other column to a field of its own
    // name (a custom attribute).
    for (const std::string &column : columns) {
        const bool used = std::any_of(suggestions.begin(), suggestions.end(), [&](const ColumnSuggestion &suggestion) {
            return suggestion.column == column || suggestion.field == column;
        });
        if (!used)
            suggestions.push_back({column, column, 1.0});
    }
    return suggestions;
}

std::optional<int64_t> next_scheduled_run(const std::string &schedule_text, const std::string &timezone,
                                          int64_t started_at) {
    const Schedule schedule = parse(schedule_text);
    const auto calendar = pg::make_calendar(timezone);
    return next_run_after(schedule, started_at, *calendar);
}

std::vector<int64_t> next_run_times(const std::string &schedule_text, const std::string &timezone, int64_t after,
                                    int count) {
    if (count < 1 || count > 1000)
        throw Error(sqlstate::kInvalidParameterValue, "count must be between 1 and 1000");
    const Schedule schedule = parse(schedule_text);
    const auto calendar = pg::make_calendar(timezone);
    std::vector<int64_t> times;
    int64_t cursor = after;
    while (static_cast<int>(times.size()) < count) {
        const auto next = next_run_after(schedule, cursor, *calendar);
        if (!next)
            break;
        times.push_back(*next);
        cursor = *next;
    }
    return times;
}

}  // namespace reverse_etl::catalog
