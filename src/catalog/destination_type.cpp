#include "catalog/destination_type.hpp"

#include <algorithm>
#include <climits>
#include <set>
#include <utility>

#include "common/error.hpp"
#include "common/json.hpp"

namespace reverse_etl::catalog {

namespace {

constexpr SettingType kSettingTypes[] = {SettingType::String, SettingType::Integer,
                                         SettingType::Boolean, SettingType::Object,
                                         SettingType::Interval};
constexpr FieldType kFieldTypes[] = {FieldType::String,   FieldType::Number, FieldType::Integer,
                                     FieldType::Boolean,  FieldType::Datetime,
                                     FieldType::Object,   FieldType::Array,  FieldType::Any};

// SPEC section 4: an action offers either the generic modes or a subset of the
// destination operations, never a mix (the two families mean different payloads).
const std::vector<std::string> kGenericSyncModes = {"added", "updated", "added_or_updated",
                                                    "deleted", "all"};
const std::vector<std::string> kOperationSyncModes = {"upsert", "update", "add", "delete",
                                                      "mirror"};

bool contains(const std::vector<std::string> &list, const std::string &value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

std::string join_names(const std::vector<std::string> &names) {
    std::string joined;
    for (const std::string &name : names)
        joined += (joined.empty() ? "" : ", ") + name;
    return joined;
}

// Type names and keys users type in SQL: lower-case snake_case only.
bool is_snake_case(const std::string &text) {
    if (text.empty() || text[0] < 'a' || text[0] > 'z')
        return false;
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

// A value inside the definition together with where it sits, so every complaint
// points at the offending key (e.g. "actions[1].fields[0].type"). Definitions ship
// with the extension: a bad one is a bug in this project, hence XX000.
class Node {
  public:
    Node(const json_t *value, std::string path, const std::string &type_name)
        : value_(value), path_(std::move(path)), type_name_(type_name) {}

    const json_t *value() const { return value_; }
    bool present() const { return value_ != nullptr; }
    const std::string &path() const { return path_; }

    Node member(const char *key) const {
        const json_t *child = json_is_object(value_) ? json_object_get(value_, key) : nullptr;
        return Node(child, path_.empty() ? key : path_ + "." + key, type_name_);
    }
    Node element(size_t index) const {
        return Node(json_array_get(value_, index), path_ + "[" + std::to_string(index) + "]",
                    type_name_);
    }

    // `predicate` completes a sentence whose subject is this node's path.
    [[noreturn]] void fail(const std::string &predicate) const {
        const std::string subject = path_.empty() ? "the definition" : path_;
        const std::string what = type_name_.empty()
                                     ? "invalid destination type definition"
                                     : "invalid definition of destination type \"" +
                                           type_name_ + "\"";
        throw Error(sqlstate::kInternalError, what + ": " + subject + " " + predicate);
    }

    void expect(bool condition, const std::string &predicate) const {
        if (!condition)
            fail(predicate);
    }

  private:
    const json_t *value_;
    std::string path_;
    const std::string &type_name_;  // the definition's "type" once read, else empty
};

const Node &require_present(const Node &node) {
    node.expect(node.present(), "is missing");
    return node;
}

std::string read_string(const Node &node) {
    require_present(node).expect(json_is_string(node.value()), "must be a string");
    return std::string(json_string_value(node.value()), json_string_length(node.value()));
}

std::string read_text(const Node &node) {
    std::string text = read_string(node);
    node.expect(!text.empty(), "must not be empty");
    return text;
}

std::string read_snake_case(const Node &node) {
    std::string text = read_string(node);
    node.expect(is_snake_case(text), "\"" + text + "\" must be lower-case snake_case");
    return text;
}

bool read_bool(const Node &node, bool fallback) {
    if (!node.present())
        return fallback;
    node.expect(json_is_boolean(node.value()), "must be true or false");
    return json_is_true(node.value());
}

long long read_integer(const Node &node) {
    require_present(node).expect(json_is_integer(node.value()), "must be an integer");
    return json_integer_value(node.value());
}

int read_positive_int(const Node &node) {
    const long long value = read_integer(node);
    node.expect(value >= 1 && value <= INT_MAX,
                "must be between 1 and " + std::to_string(INT_MAX));
    return static_cast<int>(value);
}

int read_optional_positive_int(const Node &node) {
    return node.present() ? read_positive_int(node) : 0;  // 0: no limit
}

void require_array(const Node &node) {
    require_present(node).expect(json_is_array(node.value()), "must be an array");
}

// A list of distinct non-empty strings.
std::vector<std::string> read_name_list(const Node &node) {
    require_array(node);
    std::vector<std::string> names;
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node item = node.element(i);
        std::string name = read_text(item);
        item.expect(!contains(names, name), "repeats \"" + name + "\"");
        names.push_back(std::move(name));
    }
    return names;
}

template <typename Enum, size_t N>
Enum read_enum(const Node &node, const Enum (&values)[N], const char *(*name_of)(Enum),
               const char *what) {
    const std::string name = read_string(node);
    std::vector<std::string> known;
    for (const Enum value : values) {
        if (name == name_of(value))
            return value;
        known.emplace_back(name_of(value));
    }
    node.fail("\"" + name + "\" is not a " + what + " (" + join_names(known) + ")");
}

// ---- settings ----

bool is_object_of_strings(const json_t *value) {
    if (!json_is_object(value))
        return false;
    const char *key;
    const json_t *member;
    json_object_foreach(const_cast<json_t *>(value), key, member) {
        if (!json_is_string(member))
            return false;
    }
    return true;
}

void check_default(const Node &node, const SettingSpec &spec) {
    const json_t *value = node.value();
    switch (spec.type) {
    case SettingType::String:
    case SettingType::Interval:
        node.expect(json_is_string(value), "must be a string");
        break;
    case SettingType::Integer:
        node.expect(json_is_integer(value), "must be an integer");
        break;
    case SettingType::Boolean:
        node.expect(json_is_boolean(value), "must be true or false");
        break;
    case SettingType::Object:
        node.expect(is_object_of_strings(value), "must be an object of strings");
        break;
    }
    if (!spec.allowed_values.empty())
        node.expect(contains(spec.allowed_values, json_string_value(value)),
                    "must be one of the setting's enum values");
    if (json_is_integer(value)) {
        const long long number = json_integer_value(value);
        node.expect(!spec.minimum || number >= *spec.minimum, "is below the setting's minimum");
        node.expect(!spec.maximum || number <= *spec.maximum, "is above the setting's maximum");
    }
}

void read_limits(const Node &node, SettingSpec &spec) {
    const Node minimum = node.member("minimum"), maximum = node.member("maximum");
    if (minimum.present() || maximum.present())
        node.expect(spec.type == SettingType::Integer,
                    "has a minimum or maximum but is not an integer setting");
    if (minimum.present())
        spec.minimum = read_integer(minimum);
    if (maximum.present())
        spec.maximum = read_integer(maximum);
    if (spec.minimum && spec.maximum)
        maximum.expect(*spec.minimum <= *spec.maximum, "must not be below minimum");
}

SettingSpec read_setting(const Node &node) {
    node.expect(json_is_object(node.value()), "must be an object");
    SettingSpec spec;
    spec.key = read_snake_case(node.member("key"));
    spec.type = read_enum(node.member("type"), kSettingTypes, setting_type_name, "setting type");
    spec.required = read_bool(node.member("required"), false);
    spec.secret = read_bool(node.member("secret"), false);
    spec.description = read_text(node.member("description"));

    const Node allowed = node.member("enum");
    if (allowed.present()) {
        allowed.expect(spec.type == SettingType::String, "is only allowed on string settings");
        spec.allowed_values = read_name_list(allowed);
        allowed.expect(!spec.allowed_values.empty(), "must not be empty");
    }
    read_limits(node, spec);

    const Node fallback = node.member("default");
    if (fallback.present()) {
        // A required setting with a default could never be missing: a contradiction.
        fallback.expect(!spec.required, "is not allowed on a required setting");
        check_default(fallback, spec);
        spec.default_json = dump_json(fallback.value());
    }
    return spec;
}

std::vector<SettingSpec> read_settings(const Node &node) {
    require_array(node);
    std::vector<SettingSpec> settings;
    std::set<std::string> keys;
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node item = node.element(i);
        SettingSpec spec = read_setting(item);
        item.expect(keys.insert(spec.key).second, "repeats key \"" + spec.key + "\"");
        settings.push_back(std::move(spec));
    }
    // SPEC section 3: every type has a base-URL setting so tests and proxies can
    // point it anywhere.
    const bool has_base_url = std::any_of(settings.begin(), settings.end(), [](const auto &s) {
        return (s.key == "url" || s.key == "endpoint") && s.type == SettingType::String;
    });
    node.expect(has_base_url, "must include a string setting named \"url\" or \"endpoint\"");
    return settings;
}

// ---- actions ----

FieldSpec read_field(const Node &node) {
    node.expect(json_is_object(node.value()), "must be an object");
    FieldSpec field;
    field.key = read_text(node.member("key"));
    field.type = read_enum(node.member("type"), kFieldTypes, field_type_name, "field type");
    field.required = read_bool(node.member("required"), false);
    field.description = read_text(node.member("description"));
    const Node properties = node.member("properties");
    if (properties.present()) {
        properties.expect(field.type == FieldType::Object, "is only allowed on object fields");
        field.properties = read_name_list(properties);
        properties.expect(!field.properties.empty(), "must not be empty");
    }
    return field;
}

std::vector<FieldSpec> read_fields(const Node &node) {
    require_array(node);
    std::vector<FieldSpec> fields;
    std::set<std::string> keys;
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node item = node.element(i);
        FieldSpec field = read_field(item);
        item.expect(keys.insert(field.key).second, "repeats key \"" + field.key + "\"");
        fields.push_back(std::move(field));
    }
    return fields;
}

void read_sync_modes(const Node &node, ActionDef &action) {
    const Node modes = node.member("sync_modes");
    action.sync_modes = read_name_list(modes);
    modes.expect(!action.sync_modes.empty(), "must not be empty");
    for (size_t i = 0; i < action.sync_modes.size(); ++i) {
        const std::string &mode = action.sync_modes[i];
        modes.element(i).expect(contains(kGenericSyncModes, mode) ||
                                    contains(kOperationSyncModes, mode),
                                "\"" + mode + "\" is not a sync mode (" +
                                    join_names(kGenericSyncModes) + ", " +
                                    join_names(kOperationSyncModes) + ")");
    }
    const bool generic = contains(kGenericSyncModes, action.sync_modes.front());
    for (const std::string &mode : action.sync_modes)
        modes.expect(contains(generic ? kGenericSyncModes : kOperationSyncModes, mode),
                     "must not mix generic modes (" + join_names(kGenericSyncModes) +
                         ") with destination operations (" + join_names(kOperationSyncModes) +
                         ")");
    const Node fallback = node.member("default_sync_mode");
    const std::string mode = read_string(fallback);
    fallback.expect(contains(action.sync_modes, mode),
                    "\"" + mode + "\" is not one of the action's sync_modes");
    action.default_sync_mode = mode;
}

void read_required_one_of(const Node &node, ActionDef &action) {
    if (!node.present())
        return;
    require_array(node);
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node group = node.element(i);
        std::vector<std::string> keys = read_name_list(group);
        group.expect(keys.size() >= 2, "must name at least two fields (mark one field "
                                       "\"required\" instead)");
        for (const std::string &key : keys)
            group.expect(action.free_fields || action.find_field(key) != nullptr,
                         "names \"" + key + "\", which is not a field of the action");
        action.required_one_of.push_back(std::move(keys));
    }
}

void read_batch_limits(const Node &node, ActionDef &action) {
    action.max_batch_records = read_positive_int(node.member("max_batch_records"));
    action.max_batch_bytes = read_optional_positive_int(node.member("max_batch_bytes"));
    const Node record_bytes = node.member("max_record_bytes");
    action.max_record_bytes = read_optional_positive_int(record_bytes);
    record_bytes.expect(action.max_batch_bytes == 0 ||
                            action.max_record_bytes <= action.max_batch_bytes,
                        "must not exceed max_batch_bytes");
}

ActionDef read_action(const Node &node) {
    node.expect(json_is_object(node.value()), "must be an object");
    ActionDef action;
    action.key = read_snake_case(node.member("key"));
    action.name = read_text(node.member("name"));
    action.description = read_text(node.member("description"));
    read_sync_modes(node, action);
    action.free_fields = read_bool(node.member("free_fields"), false);
    const Node fields = node.member("fields");
    action.fields = read_fields(fields);
    fields.expect(action.free_fields || !action.fields.empty(),
                  "must not be empty unless free_fields is true");
    read_required_one_of(node.member("required_one_of"), action);
    read_batch_limits(node, action);
    action.nulls_allowed = read_bool(node.member("nulls_allowed"), true);
    // Unknown keys ("request", rate limits, ...) belong to the delivery side.
    return action;
}

std::vector<ActionDef> read_actions(const Node &node) {
    require_array(node);
    node.expect(json_array_size(node.value()) > 0, "must not be empty");
    std::vector<ActionDef> actions;
    std::set<std::string> keys;
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node item = node.element(i);
        ActionDef action = read_action(item);
        item.expect(keys.insert(action.key).second, "repeats key \"" + action.key + "\"");
        actions.push_back(std::move(action));
    }
    return actions;
}

JsonPtr parse_definition_text(const std::string &definition_json) {
    try {
        return parse_json(definition_json, "destination type definition");
    } catch (const Error &error) {
        // Bad JSON in a shipped file is our bug, not the user's bad parameter.
        throw Error(sqlstate::kInternalError, error.message(), error.detail(), error.hint());
    }
}

}  // namespace

DestinationType parse_destination_type(const std::string &definition_json) {
    const JsonPtr root_value = parse_definition_text(definition_json);
    std::string type_name;  // Node keeps a reference: messages name the type once known
    const Node root(root_value.get(), "", type_name);
    root.expect(json_is_object(root.value()), "must be a JSON object");

    DestinationType type;
    type.type = read_snake_case(root.member("type"));
    type_name = type.type;
    type.name = read_text(root.member("name"));
    type.description = read_text(root.member("description"));
    type.settings = read_settings(root.member("settings"));
    type.actions = read_actions(root.member("actions"));
    return type;
}

const FieldSpec *ActionDef::find_field(const std::string &field_key) const {
    const auto found = std::find_if(fields.begin(), fields.end(),
                                    [&](const FieldSpec &field) { return field.key == field_key; });
    return found == fields.end() ? nullptr : &*found;
}

const SettingSpec *DestinationType::find_setting(const std::string &setting_key) const {
    const auto found =
        std::find_if(settings.begin(), settings.end(),
                     [&](const SettingSpec &setting) { return setting.key == setting_key; });
    return found == settings.end() ? nullptr : &*found;
}

const ActionDef *DestinationType::find_action(const std::string &action_key) const {
    const auto found =
        std::find_if(actions.begin(), actions.end(),
                     [&](const ActionDef &action) { return action.key == action_key; });
    return found == actions.end() ? nullptr : &*found;
}

const char *field_type_name(FieldType type) {
    switch (type) {
    case FieldType::String: return "string";
    case FieldType::Number: return "number";
    case FieldType::Integer: return "integer";
    case FieldType::Boolean: return "boolean";
    case FieldType::Datetime: return "datetime";
    case FieldType::Object: return "object";
    case FieldType::Array: return "array";
    case FieldType::Any: return "any";
    }
    return "unknown";
}

const char *setting_type_name(SettingType type) {
    switch (type) {
    case SettingType::String: return "string";
    case SettingType::Integer: return "integer";
    case SettingType::Boolean: return "boolean";
    case SettingType::Object: return "object";
    case SettingType::Interval: return "interval";
    }
    return "unknown";
}

}  // namespace reverse_etl::catalog
