#include "catalog/action_settings.hpp"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "catalog/action_templates.hpp"
#include "catalog/key_field_binding.hpp"
#include "catalog/name_matching.hpp"
#include "catalog/settings.hpp"
#include "common/error.hpp"
#include "common/text.hpp"
#include "http/http_text.hpp"

namespace reverse_etl::catalog {

namespace {

using Kind = RequestTemplatePart::Kind;

Error invalid(std::string message, std::string detail = {}, std::string hint = {}) {
    return Error(sqlstate::kInvalidParameterValue, std::move(message), std::move(detail), std::move(hint));
}

std::string quoted_list(const std::vector<std::string> &names) {
    std::string list;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0)
            list += i + 1 == names.size() ? (names.size() > 2 ? ", and " : " and ") : ", ";
        list += quoted(names[i]);
    }
    return list;
}

std::string of_action(const DestinationType &type, const ActionDef &action) {
    return "action " + quoted(action.key) + " of destination type " + quoted(type.type);
}

std::string string_of(const json_t *value) { return std::string(json_string_value(value), json_string_length(value)); }

template <typename Visit>
void for_each_member(const json_t *object, Visit &&visit) {
    json_t *readable = const_cast<json_t *>(object);   // jansson's macros only read it
    const char *key;
    size_t key_length;
    json_t *value;
    json_object_keylen_foreach(readable, key, key_length, value) {
        visit(std::string(key, key_length), static_cast<const json_t *>(value));
    }
}

void require_object(const json_t *settings) {
    if (settings == nullptr)
        throw invalid("action_settings must be a JSON object, not null");
    if (!json_is_object(settings))
        throw invalid(std::string("action_settings must be a JSON object, not ") + given_kind(settings));
}

std::vector<std::string> setting_keys(const ActionDef &action) {
    std::vector<std::string> keys;
    for (const SettingSpec &spec : action.settings)
        keys.push_back(spec.key);
    return keys;
}

Error unknown_setting(const DestinationType &type, const ActionDef &action, const std::string &key) {
    const std::vector<std::string> keys = setting_keys(action);
    const std::optional<std::string> nearest = closest_name(key, keys);
    return invalid("unknown action setting " + quoted(key) + " for " + of_action(type, action),
                   "Action " + quoted(action.key) + " declares " + (keys.size() == 1 ? "only " : "") +
                       quoted_list(keys) + ".",
                   nearest ? "Did you mean " + quoted(*nearest) + "?" : std::string());
}

// Action settings go into URLs, headers and bodies as they are: a line break
// would end a header early. And a URL path segment or a key field cannot be empty.
void check_string(const SettingSpec &spec, const std::string &text) {
    if (text.empty())
        throw invalid("action setting " + quoted(spec.key) + " must not be empty");
    const bool control = std::any_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
    });
    if (control)
        throw invalid("action setting " + quoted(spec.key) + " must not contain control characters",
                      "Its value is sent in request URLs, headers and bodies.");
    if (!spec.allowed_values.empty() &&
        std::find(spec.allowed_values.begin(), spec.allowed_values.end(), text) == spec.allowed_values.end())
        throw invalid("invalid value for action setting " + quoted(spec.key) + ": " + quoted(text), "",
                      "Allowed values are " + quoted_list(spec.allowed_values) + ".");
}

void check_integer(const SettingSpec &spec, long long number) {
    const bool too_small = spec.minimum && number < *spec.minimum;
    const bool too_large = spec.maximum && number > *spec.maximum;
    if (!too_small && !too_large)
        return;
    const auto text = [](long long n) { return std::to_string(n); };
    const std::string hint = spec.minimum && spec.maximum
                                 ? "Use an integer from " + text(*spec.minimum) + " to " + text(*spec.maximum) + "."
                             : spec.minimum ? "Use an integer of at least " + text(*spec.minimum) + "."
                                            : "Use an integer of at most " + text(*spec.maximum) + ".";
    throw invalid("value " + text(number) + " is out of range for action setting " + quoted(spec.key), "", hint);
}

void check_value(const SettingSpec &spec, const json_t *value) {
    if (!has_expected_kind(spec.type, value)) {
        std::string hint;
        if (json_is_null(value) && !spec.required)
            hint = "Leave " + quoted(spec.key) + " out to " + (spec.default_json ? "use its default." : "leave it unset.");
        throw invalid("action setting " + quoted(spec.key) + " must be " + expected_kind(spec.type) + ", not " +
                          given_kind(value),
                      "", hint);
    }
    if (spec.type == SettingType::String)
        check_string(spec, string_of(value));
    else if (spec.type == SettingType::Integer)
        check_integer(spec, json_integer_value(value));
}

std::string example_value(SettingType type) { return type == SettingType::String ? "\"...\"" : "..."; }

void check_required(const DestinationType &type, const ActionDef &action, const json_t *settings) {
    for (const SettingSpec &spec : action.settings)
        if (spec.required && json_object_getn(settings, spec.key.data(), spec.key.size()) == nullptr)
            throw invalid("missing required action setting " + quoted(spec.key) + " for " + of_action(type, action),
                          "", "Set it with action_settings => '{" + quoted(spec.key) + ": " +
                                  example_value(spec.type) + "}'.");
}

// The key field named by a setting must be a field the mapping can map.
void check_key_field(const DestinationType &type, const ActionDef &action, const json_t *settings) {
    if (action.key_field_setting.empty() || action.free_fields)
        return;
    const JsonPtr value = effective_action_setting(action, settings, action.key_field_setting);
    if (!json_is_string(value.get()))
        return;   // reported as missing or of the wrong type
    const std::string field = string_of(value.get());
    if (action.find_field(field) != nullptr)
        return;
    std::vector<std::string> fields;
    for (const FieldSpec &spec : action.fields)
        fields.push_back(spec.key);
    const std::optional<std::string> nearest = closest_name(field, fields);
    throw invalid("action setting " + quoted(action.key_field_setting) + " names " + quoted(field) +
                      ", which is not a field of " + of_action(type, action),
                  "The action's records are identified by the field it names.",
                  nearest ? "Did you mean " + quoted(*nearest) + "?" : "Fields: " + quoted_list(fields) + ".");
}

// The setting's value as template text; 22023 when it has none.
std::string setting_text(const ActionDef &action, const json_t *settings, const std::string &key) {
    const JsonPtr value = effective_action_setting(action, settings, key);
    if (json_is_string(value.get()))
        return string_of(value.get());
    if (json_is_integer(value.get()))
        return std::to_string(json_integer_value(value.get()));
    if (!value)
        throw invalid("action setting " + quoted(key) + " of action " + quoted(action.key) + " is not set", "",
                      "Set it with reverse_etl.alter_mapping(..., action_settings => '{" + quoted(key) +
                          ": \"...\"}').");
    throw invalid("action setting " + quoted(key) + " must be a string or an integer, not " + given_kind(value.get()));
}

void bind_template(RequestTemplate &text, bool in_url, const ActionDef &action, const json_t *settings) {
    std::vector<RequestTemplatePart> parts;
    for (RequestTemplatePart &part : text.parts) {
        if (part.kind == Kind::ActionSetting) {
            const std::string value = setting_text(action, settings, part.text);
            part = RequestTemplatePart{Kind::Text, in_url ? http::percent_encode(value) : value};
        }
        // Adjacent Text parts never occur in a template: join them.
        if (part.kind == Kind::Text && !parts.empty() && parts.back().kind == Kind::Text)
            parts.back().text += part.text;
        else if (part.kind != Kind::Text || !part.text.empty())
            parts.push_back(std::move(part));
    }
    text.parts = std::move(parts);
}

// A key field the mapping chooses finds its records at the destination, so
// every record needs a value for it, whether or not the action lists the
// field (HubSpot's custom objects list none).
void require_key_field(ActionDef &action) {
    for (FieldSpec &field : action.fields)
        if (field.key == action.key_field) {
            field.required = true;
            return;
        }
    FieldSpec field;
    field.key = action.key_field;
    field.type = FieldType::Any;
    field.required = true;
    field.description = "The key that finds the record at the destination (an action setting names it).";
    action.fields.push_back(std::move(field));
}

}  // namespace

void validate_action_settings(const DestinationType &type, const ActionDef &action, const json_t *action_settings) {
    require_object(action_settings);
    if (action.settings.empty() && json_object_size(action_settings) > 0)
        throw invalid(of_action(type, action) + " takes no action settings", "",
                      "Leave action_settings out, or give '{}'.");
    for_each_member(action_settings, [&](const std::string &key, const json_t *value) {
        const SettingSpec *spec = action.find_setting(key);
        if (spec == nullptr)
            throw unknown_setting(type, action, key);
        check_value(*spec, value);
    });
    check_required(type, action, action_settings);
    check_key_field(type, action, action_settings);
}

JsonPtr merge_action_settings(const json_t *current, const json_t *patch) {
    require_object(patch);
    return merge_settings(current, patch);
}

JsonPtr effective_action_setting(const ActionDef &action, const json_t *action_settings, const std::string &key) {
    const SettingSpec *spec = action.find_setting(key);
    if (spec == nullptr)
        throw Error(sqlstate::kInternalError, "action " + quoted(action.key) + " has no setting " + quoted(key));
    const json_t *value =
        json_is_object(action_settings) ? json_object_getn(action_settings, key.data(), key.size()) : nullptr;
    if (value != nullptr && !json_is_null(value))
        return share_json(const_cast<json_t *>(value));   // incref only touches the refcount
    if (spec->default_json)
        return parse_json(*spec->default_json, "default of action setting " + quoted(key));
    return nullptr;
}

ActionDef bind_action_settings(const ActionDef &action, const json_t *action_settings) {
    ActionDef bound = action;
    if (action.settings.empty())
        return bound;
    for_each_action_template(bound, [&](const std::string &, RequestTemplate &text, bool in_url) {
        bind_template(text, in_url, action, action_settings);
    });
    if (!action.key_field_setting.empty()) {
        bound.key_field = setting_text(action, action_settings, action.key_field_setting);
        // An operation that sends otherwise for this key field (Iterable's
        // delete by userId) sends its variant; the others are no more use.
        for (auto &[name, operation] : bound.operations) {
            const auto variant = operation.by_key_field.find(bound.key_field);
            if (variant != operation.by_key_field.end()) {
                operation.request = std::move(variant->second.request);
                operation.element = std::move(variant->second.element);
            }
            operation.by_key_field.clear();
        }
        bind_key_field(bound, bound.key_field);
        require_key_field(bound);
    }
    return bound;
}

}  // namespace reverse_etl::catalog
