#include "engine/mapping_plan.hpp"

#include <algorithm>

#include "catalog/action_settings.hpp"
#include "catalog/field_mapping.hpp"
#include "catalog/mapping_state.hpp"
#include "catalog/request_rules.hpp"
#include "common/error.hpp"
#include "destinations/request_builder.hpp"
#include "pg/time_support.hpp"
#include "pg/query_analysis.hpp"
#include "pg/role_scope.hpp"

namespace reverse_etl::engine {

namespace {

size_t column_index(const catalog::ModelRow &model, const std::string &name) {
    for (size_t i = 0; i < model.columns.size(); i++)
        if (model.columns[i].name == name)
            return i;
    throw Error(sqlstate::kUndefinedColumn,
                "model " + catalog::quoted(model.name) + " has no column " + catalog::quoted(name),
                "The model's query changed since the mapping was validated.");
}

void select_changes(MappingPlan &plan) {
    const std::string &mode = plan.mapping.sync_mode;
    plan.sends_added = mode == "added" || mode == "added_or_updated" || mode == "all" || mode == "upsert" ||
                       mode == "add" || mode == "mirror";
    plan.sends_updated = mode == "updated" || mode == "added_or_updated" || mode == "all" || mode == "upsert" ||
                         mode == "update" || mode == "mirror";
    plan.sends_deleted = mode == "deleted" || mode == "all" || mode == "delete" || mode == "mirror";
}

// A mapping runs its filter as the model's owner and sends the model's data
// to the destination: only while its own owner may still use both, as when
// it was created. Checked at every run, preview and test send, whoever
// starts them: a REVOKE takes effect at once.
void require_owner_can_use(const MappingPlan &plan) {
    const auto refuse = [&](const std::string &kind, const std::string &name) {
        return Error(sqlstate::kInsufficientPrivilege,
                     "the owner of mapping " + catalog::quoted(plan.mapping.name) + " may no longer use " + kind + " " +
                         catalog::quoted(name),
                     "Role " + catalog::quoted(pg::role_name(plan.mapping.owner)) + " lacks the privileges of the " +
                         kind + "'s owner.",
                     "Grant them again, or drop the mapping.");
    };
    if (!pg::has_privileges_of_role(plan.mapping.owner, plan.model.owner))
        throw refuse("model", plan.model.name);
    if (!pg::has_privileges_of_role(plan.mapping.owner, plan.destination.owner))
        throw refuse("destination", plan.destination.name);
}

// The wait of the first job block among the action's requests (a type
// declares one wait setting for its jobs), from its setting or default.
std::optional<int64_t> job_wait_of(const MappingPlan &plan) {
    const catalog::JobSpec *job = plan.action.request.response.job ? &*plan.action.request.response.job : nullptr;
    for (const auto &[name, operation] : plan.action.operations)
        if (job == nullptr && operation.request.response.job)
            job = &*operation.request.response.job;
    if (job == nullptr)
        return std::nullopt;
    std::optional<std::string> text = job->wait.fallback;
    if (!job->wait.setting.empty())
        if (const json_t *value = json_object_get(plan.settings.get(), job->wait.setting.c_str());
            value != nullptr && json_is_string(value))
            text = json_string_value(value);
    if (!text)
        return std::nullopt;
    // As validate_settings checked it when the destination was saved.
    return catalog::job_wait_usec(job->wait.setting.empty() ? "wait" : job->wait.setting, *text,
                                  pg::parse_interval_length);
}

}  // namespace

MappingPlan load_mapping_plan(int64_t mapping_id) {
    MappingPlan plan;
    plan.mapping = catalog::mapping_by_id(mapping_id);
    plan.model = catalog::model_by_id(plan.mapping.model_id);
    plan.destination = catalog::destination_by_id(plan.mapping.destination_id);
    require_owner_can_use(plan);
    plan.type = catalog::load_destination_type(plan.destination.type);
    const catalog::ActionDef *action = plan.type.find_action(plan.mapping.action);
    if (action == nullptr)
        throw Error(sqlstate::kUndefinedObject, "destination type " + catalog::quoted(plan.type.type) +
                                                     " has no action " + catalog::quoted(plan.mapping.action));
    // Bound once here: every request builder of the run sends the action with
    // the mapping's action settings in its templates and key_field.
    plan.action_settings = parse_json(plan.mapping.action_settings_json, "action_settings");
    plan.action = catalog::bind_action_settings(*action, plan.action_settings.get());
    plan.fields = parse_json_shape(plan.mapping.fields_json, "fields");
    plan.settings = parse_json(plan.destination.settings_json, "settings");
    // Again at every run: a mapping stored by an older version may break the rule.
    catalog::check_delete_key(plan.action, plan.mapping.sync_mode, plan.fields.get());

    for (const std::string &column : catalog::referenced_columns(plan.fields.get()))
        plan.sent_columns.push_back(column_index(plan.model, column));
    std::sort(plan.sent_columns.begin(), plan.sent_columns.end());
    plan.primary_key_column = column_index(plan.model, plan.model.primary_key);
    plan.value_columns = plan.sent_columns;
    if (std::find(plan.value_columns.begin(), plan.value_columns.end(), plan.primary_key_column) ==
        plan.value_columns.end())
        plan.value_columns.push_back(plan.primary_key_column);
    std::sort(plan.value_columns.begin(), plan.value_columns.end());
    plan.keeps_object_ids = !plan.action.request.response.records.object_id.empty();
    for (const auto &[name, operation] : plan.action.operations)
        plan.keeps_object_ids = plan.keeps_object_ids || !operation.request.response.records.object_id.empty();
    if (const auto key = catalog::destination_key_column(plan.action, plan.fields.get()))
        if (*key != plan.model.primary_key)
            plan.destination_key_column = column_index(plan.model, *key);

    plan.hash_seed = static_cast<int64_t>(stable_hash(plan.mapping.fields_json));
    select_changes(plan);
    plan.checkpoint_table = catalog::checkpoint_table(plan.mapping.id);
    const destinations::RequestBuilder requests(plan.type, plan.action, plan.settings.get());
    if (const auto &timeout = requests.timeout_interval()) {
        // The range validate_settings checked when the destination was saved (a
        // definition's own fixed timeout, which no setting names, is held to it too).
        const std::string &setting = plan.type.request.timeout.setting;
        const int64_t usec = catalog::request_timeout_usec(setting.empty() ? "timeout" : setting, *timeout,
                                                           pg::parse_interval_length);
        plan.destination_timeout_ms = static_cast<long>(usec / 1000);
    }
    plan.job_wait_usec = job_wait_of(plan);
    return plan;
}

std::string record_id_sql(const MappingPlan &plan) {
    // Byte-wise, like the checkpoint's record_id column.
    return "((m." + quote_identifier(plan.model.primary_key) + ")::text COLLATE \"C\")";
}

std::string record_hash_sql(const MappingPlan &plan) {
    // A hash of the sent columns' values (see src/sql_api/record_hash.cpp): any
    // change in what the mapping sends changes it, a change elsewhere does
    // not. Columns in name order, so that reordering the model's query keeps
    // the hashes (and the checkpoint) valid. The seed is the field mapping's.
    std::vector<std::string> names;
    for (const size_t column : plan.sent_columns)
        names.push_back(plan.model.columns[column].name);
    std::sort(names.begin(), names.end());
    std::string sql = "reverse_etl_state.record_hash('" + std::to_string(plan.hash_seed) + "'::bigint";
    if (names.empty())  // a VARIADIC call needs one value at least
        sql += ", NULL::text";
    for (const std::string &name : names)
        sql += ", m." + quote_identifier(name);
    return sql + ")";
}

namespace {

// A value of the model row `m` as render_values takes it.
std::string render_argument(const Column &column, std::string value) {
    // encode() breaks base64 into 76-character lines; the SPEC's base64 has none.
    if (column.type == "bytea")
        value = "pg_catalog.translate(pg_catalog.encode(" + value + ", 'base64'), E'\\n', '')";
    return value;
}

}  // namespace

std::string rendered_values_sql(const MappingPlan &plan, const std::optional<std::string> &identifier) {
    std::string arguments;
    for (size_t i = 0; i < plan.value_columns.size(); i++) {
        const Column &column = plan.model.columns[plan.value_columns[i]];
        std::string value = "m." + quote_identifier(column.name);
        if (identifier && plan.value_columns[i] == plan.primary_key_column)
            value = *identifier;
        arguments += (i > 0 ? ", " : "") + render_argument(column, std::move(value));
    }
    return "reverse_etl_state.render_values(" + arguments + ")";
}

std::string destination_key_sql(const MappingPlan &plan) {
    if (!plan.destination_key_column)
        return "NULL::text";
    const Column &column = plan.model.columns[*plan.destination_key_column];
    // render_values gives an empty field for NULL.
    return "NULLIF(reverse_etl_state.render_values(" +
           render_argument(column, "m." + quote_identifier(column.name)) + "), '')";
}

std::optional<size_t> destination_key_field(const MappingPlan &plan) {
    if (!plan.destination_key_column)
        return std::nullopt;
    const auto found = std::find(plan.value_columns.begin(), plan.value_columns.end(), *plan.destination_key_column);
    if (found == plan.value_columns.end())
        return std::nullopt;
    return static_cast<size_t>(found - plan.value_columns.begin()) + 1;
}

void split_rendered_values(std::string_view text, size_t expected, std::vector<std::optional<std::string_view>> &values) {
    values.clear();
    size_t start = 0;
    for (;;) {
        const size_t end = text.find('\x1f', start);
        const size_t length = (end == std::string_view::npos ? text.size() : end) - start;
        if (length == 0)
            values.emplace_back(std::nullopt);
        else
            values.emplace_back(text.substr(start, length));
        if (end == std::string_view::npos)
            break;
        start = end + 1;
    }
    if (values.size() != expected)
        throw Error(sqlstate::kInternalError, "a record's rendered values hold " + std::to_string(values.size()) +
                                                  " values, not " + std::to_string(expected));
}

std::vector<std::optional<std::string>> split_rendered_values(std::string_view text, size_t expected) {
    std::vector<std::optional<std::string_view>> views;
    views.reserve(expected);
    split_rendered_values(text, expected, views);
    return std::vector<std::optional<std::string>>(views.begin(), views.end());
}

namespace {

// The model's rows as filtered_model_sql selects them: `q.*`; where the
// query gives jsonb columns as json and there is a filter, the rows as given
// (to hash and render) and `q` the same row with those columns as jsonb (to
// filter: a filter may use jsonb's operators). The lateral subquery is
// flattened, so a cast is computed only where the filter reads it.
std::string filter_source_sql(const MappingPlan &plan) {
    if (!plan.mapping.filter || plan.columns_read_as_json.empty())
        return "q.* FROM " + pg::wrap_model_query(plan.model.query, "q");
    std::string given, typed, names;
    for (size_t i = 0; i < plan.model.columns.size(); i++) {
        const std::string name = quote_identifier(plan.model.columns[i].name);
        const std::string column = "r.reverse_etl_column_" + std::to_string(i + 1);
        const bool as_jsonb = std::find(plan.columns_read_as_json.begin(), plan.columns_read_as_json.end(), i) !=
                              plan.columns_read_as_json.end();
        given += (i > 0 ? ", " : "") + column + " AS " + name;
        typed += (i > 0 ? ", " : "") + column + (as_jsonb ? "::jsonb" : "") + " AS " + name;
        names += (i > 0 ? ", " : "") + std::string("reverse_etl_column_") + std::to_string(i + 1);
    }
    return given + " FROM (\n" + plan.model.query + "\n) AS r(" + names + "), LATERAL (SELECT " + typed + ") AS q";
}

}  // namespace

std::string filtered_model_sql(const MappingPlan &plan, const std::string &alias) {
    std::string sql = "(SELECT true AS reverse_etl_present, " + filter_source_sql(plan);
    std::vector<std::string> conditions;
    if (plan.mapping.filter)
        conditions.push_back("(" + *plan.mapping.filter + "\n)");
    // On the identifier in its own type, which the planner pushes down to
    // the key table's unique index (pg::incremental_key): an index scan per
    // changed record, not a read of the whole model.
    if (plan.changed_records_up_to)
        conditions.push_back("q." + quote_identifier(plan.model.primary_key) + " IN (SELECT c.rid::" +
                             plan.model.columns[plan.primary_key_column].type + " FROM " + changed_records_table() +
                             " AS c)");
    for (size_t i = 0; i < conditions.size(); i++)
        sql += (i == 0 ? " WHERE " : " AND ") + conditions[i];
    return sql + ") AS " + alias;
}

std::string changed_records_table() { return "pg_temp.reverse_etl_live_ids"; }

namespace {

std::string hex(uint64_t value) {
    static const char digits[] = "0123456789abcdef";
    std::string text(16, '0');
    for (int i = 15; i >= 0; i--, value >>= 4)
        text[i] = digits[value & 0xf];
    return text;
}

}  // namespace

std::string operation_of_change(const MappingPlan &plan, const std::string &change) {
    const std::string operation = catalog::operation_for(plan.mapping.sync_mode, change);
    return plan.action.operations.count(operation) ? operation : std::string();
}

std::string operation_without_lookup(const MappingPlan &plan, const std::string &change, bool has_object_id) {
    const std::string operation = operation_of_change(plan, change);
    const auto found = plan.action.operations.find(operation);
    if (has_object_id || found == plan.action.operations.end() || !found->second.lookup ||
        found->second.lookup->missing != catalog::LookupDef::Missing::Add)
        return operation;
    return plan.action.operations.count("add") ? "add" : std::string();
}

std::string message_id(const MappingPlan &plan, std::string_view record_id, std::string_view version) {
    // Built in one buffer: delivery makes one per record.
    std::string id;
    id.reserve(48);
    id += "retl-";
    id += std::to_string(plan.mapping.id);
    id += '-';
    id += hex(stable_hash(record_id));
    id += '-';
    id += version;
    return id;
}

uint64_t stable_hash(std::string_view text, uint64_t seed) {
    uint64_t hash = seed;
    for (const unsigned char c : text) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

}  // namespace reverse_etl::engine
